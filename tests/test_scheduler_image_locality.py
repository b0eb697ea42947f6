"""ImageLocality: upstream's cases from imagelocality/image_locality_test.go.

TestImageLocalityPriority (7 cases) and TestNormalizedImageName (4 cases).
"""

import hashlib

import pytest
from scheduler_testing import MB, container, make_node, make_pod, plugin_scores

from kubelearn.scheduler.plugins.image_locality import ImageLocality, normalized_image_name


def pod(*images, init=()):
    return make_pod(containers=[container(image=i) for i in images],
                    init_containers=[container(image=i) for i in init])


NODE_40_300_2000 = [(["gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"], 40 * MB),
                    (["gcr.io/300:latest", "gcr.io/300:v1"], 300 * MB),
                    (["gcr.io/2000:latest"], 2000 * MB)]
NODE_250_10 = [(["gcr.io/250:latest"], 250 * MB), (["gcr.io/10:latest", "gcr.io/10:v1"], 10 * MB)]
NODE_600_40_900 = [(["gcr.io/600:latest"], 600 * MB), (["gcr.io/40:latest"], 40 * MB),
                   (["gcr.io/900:latest"], 900 * MB)]
NODE_300_600_900 = [(["gcr.io/300:latest"], 300 * MB), (["gcr.io/600:latest"], 600 * MB),
                    (["gcr.io/900:latest"], 900 * MB)]
NODE_4000_30 = [(["gcr.io/4000:latest"], 4000 * MB), (["gcr.io/30:latest"], 30 * MB)]
NODE_20_30_40 = [(["gcr.io/20:latest"], 20 * MB), (["gcr.io/30:latest"], 30 * MB),
                 (["gcr.io/40:latest"], 40 * MB)]


def nodes(*images):
    return [make_node(f"node{i + 1}", images=imgs) for i, imgs in enumerate(images)]


CASES = [
    # Score: 100 * (250M/2 - 23M)/(1000M * 2 - 23M) = 5
    ("two images spread on two nodes, prefer the larger image one",
     pod("gcr.io/40", "gcr.io/250"), nodes(NODE_40_300_2000, NODE_250_10),
     {"node1": 0, "node2": 5}),
    # Score: 100 * ((40M + 300M)/2 - 23M)/(1000M * 2 - 23M) = 7
    ("two images on one node, prefer this node", pod("gcr.io/40", "gcr.io/300"),
     nodes(NODE_40_300_2000, NODE_250_10), {"node1": 7, "node2": 0}),
    ("if exceed limit, use limit", pod("gcr.io/10", "gcr.io/4000"),
     nodes(NODE_4000_30, NODE_250_10), {"node1": 100, "node2": 0}),
    # Score: 100 * (4000M/3 - 23M)/(1000M * 2 - 23M) = 66
    ("if exceed limit, use limit (with node which has no images present)",
     pod("gcr.io/10", "gcr.io/4000"), nodes(NODE_4000_30, NODE_250_10, []),
     {"node1": 66, "node2": 0, "node3": 0}),
    ("pod with multiple large images, node2 is preferred",
     pod("gcr.io/300", "gcr.io/600", "gcr.io/900"),
     nodes(NODE_600_40_900, NODE_300_600_900, []), {"node1": 32, "node2": 36, "node3": 0}),
    ("pod with multiple small images", pod("gcr.io/30", "gcr.io/40"),
     nodes(NODE_20_30_40, NODE_4000_30), {"node1": 1, "node2": 0}),
    ("include InitContainers: two images spread on two nodes, prefer the larger image one",
     pod("gcr.io/30", init=["gcr.io/300"]), nodes(NODE_40_300_2000, NODE_20_30_40),
     {"node1": 6, "node2": 0}),
]


@pytest.mark.parametrize("name,the_pod,the_nodes,want", CASES, ids=[c[0] for c in CASES])
def test_image_locality_priority(name, the_pod, the_nodes, want):
    assert plugin_scores(ImageLocality(), the_pod, the_nodes) == want


DIGEST = "sha256:" + hashlib.sha256(b"root").hexdigest()


@pytest.mark.parametrize("given,want", [
    ("root", "root:latest"),
    ("gcr.io:5000/root", "gcr.io:5000/root:latest"),
    ("root:tag", "root:tag"),
    ("root@" + DIGEST, "root@" + DIGEST),
])
def test_normalized_image_name(given, want):
    assert normalized_image_name(given) == want
