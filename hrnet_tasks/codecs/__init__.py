from .associative_embedding import (AssociativeEmbedding, back_project, bottomup_resize_params,
                                    resize_matrix)

__all__ = ['AssociativeEmbedding', 'back_project', 'bottomup_resize_params', 'resize_matrix']
