"""The bottom-up decoder's people cap (``max_instances`` of ``AssociativeEmbedding``) and
its lower bound. Importable without torch: ``hrnet_tasks.cli`` checks a config's caps with
it before the model stack is imported, the codec when it is built.
"""
from typing import Any, Iterator, Optional, Tuple

# Detections per image that COCO keypoint evaluation ranks (COCOeval maxDets = 20): a cap
# of at least this many people cannot change COCO AP.
COCO_MAX_DETS = 20


def max_instances_problem(value: Any) -> Optional[str]:
    """Why ``value`` cannot be a ``max_instances``, as the end of a one-line message; None
    when it can (None: no cap, or an integer >= COCO_MAX_DETS)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)
                         and value >= COCO_MAX_DETS):
        return None
    return (f'max_instances={value!r}: COCO keypoint AP ranks the {COCO_MAX_DETS} best-scored '
            f'people of each image, so a cap below that changes the AP; use an integer >= '
            f'{COCO_MAX_DETS} (the COCO configs use 30) or None (no cap)')


def decoder_caps(node: Any, path: str = '') -> Iterator[Tuple[str, Any]]:
    """(config key, value) of every ``max_instances`` of an ``AssociativeEmbedding`` in a
    config dict (lists and nested dicts searched)."""
    if isinstance(node, dict):
        if node.get('type') == 'AssociativeEmbedding' and 'max_instances' in node:
            yield f'{path}.max_instances'.lstrip('.'), node['max_instances']
        for key, value in node.items():
            yield from decoder_caps(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from decoder_caps(value, f'{path}.{i}')
