"""ImageLocality: favour nodes that already have the pod's images -- less to pull.

For each container image (init containers too) present on the node, its size
scaled by the share of nodes that have it (``size * nodesWithImage / totalNodes``,
so an image on every node does not pull pods to one); the sum is clamped to
[23 MiB, 1000 MiB x number of containers] and mapped linearly to 0..100.

:meth:`ImageLocality.score_nodes` computes the same scores for many nodes at once
(the vectorised scheduler's path), from a column of image sizes per image.

A port of pkg/scheduler/framework/plugins/imagelocality/image_locality.go.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from kubelearn.scheduler.framework import MAX_NODE_SCORE, CycleState, ScorePlugin
from kubelearn.scheduler.nodeinfo import ImageStateSummary, NodeInfo
from kubelearn.scheduler.plugins.helper import field

NAME = "ImageLocality"
MB = 1024 * 1024  # image_locality.go mb
MIN_THRESHOLD = 23 * MB  # minThreshold: below this an image does not count
MAX_CONTAINER_THRESHOLD = 1000 * MB  # maxContainerThreshold, per container
DEFAULT_IMAGE_TAG = "latest"  # parsers.DefaultImageTag


def normalized_image_name(name: str) -> str:
    """Add ``:latest`` to an image without a tag or digest (normalizedImageName)."""
    if name.rfind(":") <= name.rfind("/"):
        name = f"{name}:{DEFAULT_IMAGE_TAG}"
    return name


def scaled_image_score(state: ImageStateSummary, total_num_nodes: int) -> int:
    """The image size scaled by the fraction of nodes holding it (scaledImageScore)."""
    spread = state.num_nodes / total_num_nodes
    return int(state.size * spread)


def pod_images(pod: Mapping[str, Any]) -> list[str]:
    """The images of the pod's init containers and containers."""
    spec = field(pod, "spec") or {}
    containers = list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
    return [c.get("image") or "" for c in containers]


def sum_image_scores(node_info: NodeInfo, images: list[str], total_num_nodes: int) -> int:
    """The scaled sizes of the pod's images present on the node (sumImageScores)."""
    total = 0
    for image in images:
        state = node_info.image_states.get(normalized_image_name(image))
        if state is not None:
            total += scaled_image_score(state, total_num_nodes)
    return total


def calculate_priority(sum_scores: int, num_containers: int) -> int:
    """Clamp to [min, max threshold] and map to 0..100 (calculatePriority)."""
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    if sum_scores < MIN_THRESHOLD:
        sum_scores = MIN_THRESHOLD
    elif sum_scores > max_threshold:
        sum_scores = max_threshold
    return MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


class ImageLocality(ScorePlugin):
    """Score the node by how much of the pod's image data is already there."""

    name = NAME

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """0..100; every node of the cycle's snapshot counts for the spread."""
        total_num_nodes = len(state.snapshot) or 1
        images = pod_images(pod)
        return calculate_priority(sum_image_scores(node_info, images, total_num_nodes),
                                  len(images))

    def score_nodes(self, pod: Mapping[str, Any],
                    image_column: Callable[[str], tuple[np.ndarray, int] | None],
                    total_num_nodes: int, n: int) -> np.ndarray | int:
        """:meth:`score` for ``n`` nodes at once.

        ``image_column(name)`` gives each node's size of the image (0: absent) and how
        many nodes hold it, or None when none does; ``total_num_nodes`` is the
        snapshot's node count. A plain int means every node scores that.
        """
        images = pod_images(pod)
        if not images:  # calculatePriority clamps 0 up to the minimum: score 0
            return np.zeros(n, dtype=np.int64)
        total_num_nodes = total_num_nodes or 1
        summed: np.ndarray | None = None
        for image in images:
            column = image_column(normalized_image_name(image))
            if column is None:
                continue
            sizes, num_nodes = column
            spread = num_nodes / total_num_nodes  # scaledImageScore; int(): toward 0
            scaled = (sizes * spread).astype(np.int64)
            summed = scaled if summed is None else summed + scaled
        if summed is None:  # no node has any of the images: all clamp to 0
            return 0
        max_threshold = MAX_CONTAINER_THRESHOLD * len(images)
        summed = np.minimum(np.maximum(summed, MIN_THRESHOLD), max_threshold)
        return MAX_NODE_SCORE * (summed - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)
