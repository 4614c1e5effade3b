from .associative_embedding import (AssociativeEmbedding, back_project, bottomup_resize_params,
                                    resize_matrix)
from .heatmap import HeatmapCodec

__all__ = ['AssociativeEmbedding', 'HeatmapCodec', 'back_project', 'bottomup_resize_params',
           'resize_matrix']
