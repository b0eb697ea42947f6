"""Where a strategic merge patch puts list items: strategicpatch's normalizeElementOrder.

Upstream's cases (k8s.io/apimachinery pkg/util/strategicpatch/patch_test.go, v0.32.0: the
"preserve order" and "set elements order ... server-only items" cases, each ThreeWay patch
applied to Current), then random lists and patches compared with what the real kubectl
computes with the same Go library (``kubectl patch --local``), where kubectl is installed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess

import pytest

from kubelearn.apiserver.patch import strategic_merge_patch

KUBECTL = shutil.which("kubectl")


def named(*items: object) -> list[dict]:
    """Containers named by ``items`` (an item ``(n, extra)`` carries an image too)."""
    out = []
    for item in items:
        name, extra = item if isinstance(item, tuple) else (item, None)
        out.append({"name": str(name), **({"image": extra} if extra else {})})
    return out


def order(*names: object) -> list[dict]:
    return [{"name": str(n)} for n in names]


def merged_names(current: list[dict], patch: dict) -> list[str]:
    pod = {"kind": "Pod", "spec": {"containers": current}}
    out = strategic_merge_patch(pod, {"spec": patch}, "Pod")
    return [c["name"] for c in out["spec"]["containers"]]


# (description, current names, patch of spec, the names in the result's order)
UPSTREAM = [
    ("add an item in a list and preserve order", named("1", "2"),
     {"$setElementOrder/containers": order(3, 1, 2), "containers": named(("3", "v3"))},
     ["3", "1", "2"]),
    ("add multiple items in a list and preserve order", named("1", "2"),
     {"$setElementOrder/containers": order(1, 4, 2, 3),
      "containers": named(("4", "v4"), ("3", "v3"))}, ["1", "4", "2", "3"]),
    ("set elements order in a list with server-only items", named("1", "3", "4", "2", "9"),
     {"$setElementOrder/containers": order(4, 2, 3, 1)}, ["4", "2", "3", "1", "9"]),
    ("set elements order in a list with server-only items 2", named("1", "2", "9", "3", "4"),
     {"$setElementOrder/containers": order(2, 1, 4, 3)}, ["2", "1", "9", "4", "3"]),
    ("set elements order in a list with server-only items 3",
     named("1", "2", "7", "9", "8", "3", "4"),
     {"$setElementOrder/containers": order(2, 1, 4, 3)},
     ["2", "1", "7", "9", "8", "4", "3"]),
    ("add map to merging list by pointer", named("1", "3"),
     {"$setElementOrder/containers": order(1, 2), "containers": named("2")}, ["1", "2", "3"]),
]


@pytest.mark.parametrize("description,current,patch,expected", UPSTREAM,
                         ids=[case[0] for case in UPSTREAM])
def test_upstream_order_cases(description, current, patch, expected):
    assert merged_names(current, patch) == expected


def test_primitive_lists_take_the_patch_order():
    """mergingIntList "add an item in a list of primitives and preserve order"."""
    pod = {"kind": "Pod", "metadata": {"finalizers": ["1", "4", "2"]}}
    out = strategic_merge_patch(pod, {"metadata": {
        "$setElementOrder/finalizers": ["3", "1", "2"], "finalizers": ["3"]}}, "Pod")
    assert out["metadata"]["finalizers"] == ["3", "1", "4", "2"]


def random_case(rng: random.Random) -> tuple[list[dict], dict]:
    """Containers c0..c5 in some order, and a patch that merges, adds, deletes, reorders."""
    pool = [f"c{i}" for i in range(6)]
    current = named(*rng.sample(pool, rng.randint(0, 5)))
    have = [c["name"] for c in current]
    patch_items: list[dict] = []
    for name in rng.sample(pool, rng.randint(0, 4)):
        if name in have and rng.random() < 0.25:
            patch_items.append({"name": name, "$patch": "delete"})
        else:
            patch_items.append({"name": name, "image": f"img-{name}"})
    patch: dict = {}
    if patch_items:
        patch["containers"] = patch_items
    if rng.random() < 0.5:  # kubectl apply's directive: the patch's items, in its order
        kept = [p["name"] for p in patch_items if "$patch" not in p]
        others = [n for n in have if n not in kept and rng.random() < 0.6]
        names = kept + others
        rng.shuffle(names)
        # the patch's own items must keep their relative order inside it
        ranked = iter(sorted(kept, key=names.index))
        names = [next(ranked) if n in kept else n for n in names]
        patch["containers"] = sorted(patch_items, key=lambda p: names.index(p["name"])
                                     if p["name"] in names else len(names))
        patch["$setElementOrder/containers"] = order(*names)
    return current, patch


@pytest.mark.skipif(KUBECTL is None and not os.environ.get("CI"),
                    reason="kubectl is not installed (the oracle is its strategicpatch)")
def test_random_patches_order_items_as_kubectl_does(tmp_path):
    if KUBECTL is None:
        pytest.fail("kubectl is not on PATH, but CI machines must have it", pytrace=False)
    rng = random.Random(7)
    cases = [random_case(rng) for _ in range(40)]
    for i, (current, patch) in enumerate(cases):
        if not current:
            continue  # kubectl needs a valid pod to read
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": current}}
        path = tmp_path / f"pod{i}.json"
        path.write_text(json.dumps(pod))
        proc = subprocess.run(
            [KUBECTL, "patch", "--local", "-f", str(path), "--type", "strategic", "-p",
             json.dumps({"spec": patch}), "-o", "json"],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "KUBECONFIG": str(tmp_path / "none")})
        assert proc.returncode == 0, proc.stderr
        theirs = [c["name"] for c in json.loads(proc.stdout)["spec"].get("containers") or []]
        assert merged_names(current, patch) == theirs, (current, patch)
