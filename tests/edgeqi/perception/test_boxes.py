"""Box arithmetic: IoU, class-aware NMS and one-to-one matching, as properties."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeqi.perception.boxes import batched_nms, iou_matrix, match

coord = st.floats(0, 500, allow_nan=False, width=32)
box = st.tuples(coord, coord, st.floats(1, 200, width=32), st.floats(1, 200, width=32)).map(
    lambda b: (b[0], b[1], b[0] + b[2], b[1] + b[3])
)
boxes = st.lists(box, min_size=0, max_size=25)


@settings(max_examples=150, deadline=None)
@given(boxes, boxes)
def test_iou_is_symmetric_bounded_and_one_on_itself(a: list, b: list) -> None:
    m = iou_matrix(np.array(a).reshape(-1, 4), np.array(b).reshape(-1, 4))
    assert m.shape == (len(a), len(b))
    assert ((m >= 0) & (m <= 1 + 1e-9)).all()
    np.testing.assert_allclose(m, iou_matrix(np.array(b), np.array(a)).T.reshape(m.shape))
    if a:
        np.testing.assert_allclose(np.diag(iou_matrix(np.array(a), np.array(a))), 1.0)


@settings(max_examples=150, deadline=None)
@given(boxes, st.data())
def test_nms_keeps_no_overlapping_pair_of_one_class(bs: list, data: st.DataObject) -> None:
    n = len(bs)
    scores = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    classes = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), np.int64)
    b = np.array(bs, np.float64).reshape(-1, 4)
    keep = batched_nms(b, scores, classes, 0.5)
    assert len(set(keep.tolist())) == len(keep)
    if n:
        assert int(keep[0]) in np.flatnonzero(scores == scores.max())
    iou = iou_matrix(b[keep], b[keep])
    same = classes[keep][:, None] == classes[keep][None, :]
    np.fill_diagonal(same, False)
    assert not (iou[same] > 0.5).any()
    # every box dropped overlaps a kept, better-scored box of its class
    for i in set(range(n)) - set(keep.tolist()):
        kept_same = [k for k in keep if classes[k] == classes[i] and scores[k] >= scores[i]]
        assert kept_same and iou_matrix(b[i : i + 1], b[kept_same]).max() > 0.5


@settings(max_examples=100, deadline=None)
@given(boxes)
def test_matching_a_set_with_itself_is_perfect(bs: list) -> None:
    b = np.array(bs, np.float64).reshape(-1, 4)
    cls = np.zeros(len(b), np.int64)
    a = match(b, cls, b, cls, 0.5)
    assert a.f1 == 1.0
    other = match(b, cls, b, cls + 1, 0.5)  # another class never matches
    assert other.matched == 0 and other.only_reference == len(b)
