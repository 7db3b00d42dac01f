"""The summarizer's numpy sparse rows: bit for bit what scipy.sparse computed, so no summary
changes. Exact equality throughout (``np.array_equal``): a last-bit difference can change a pick.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from digest.sparserows import (
    SparseRows,
    column_sums,
    products,
    scaled,
    squared_norms,
    times_vector,
)
from digest.summarize import tfidf

TRIALS = 60


def random_rows(
    rng: np.random.Generator,
    *,
    duplicates: bool = False,
    ascending: bool = False,
    empty_share: float = 0.2,
    zero_share: float = 0.0,
    height: int | None = None,
    width: int | None = None,
) -> SparseRows:
    """Rows of TF-IDF-like weights (>= 1), columns shuffled unless ``ascending``; some rows
    empty; with ``duplicates``, a column may repeat within a row; ``zero_share`` of the values
    are stored zeros (which scipy drops from results)."""
    height = int(rng.integers(0, 25)) if height is None else height
    width = int(rng.integers(1, 80)) if width is None else width
    lengths = rng.integers(1, min(width, 45) + 1, size=height)
    lengths[rng.random(height) < empty_share] = 0
    rows = [rng.choice(width, size=n, replace=duplicates) for n in lengths]
    if ascending:
        rows = [np.sort(row) for row in rows]
    columns = np.concatenate([np.zeros(0, dtype=np.int64), *rows]).astype(np.int64)
    pointers = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    values = 1.0 + 9.0 * rng.random(len(columns))
    values[rng.random(len(values)) < zero_share] = 0.0
    return SparseRows(pointers, columns, values, width)


def as_csr(rows: SparseRows) -> sparse.csr_matrix:
    return sparse.csr_matrix(
        (rows.values, rows.columns, rows.pointers), shape=(rows.height, rows.width), dtype=float
    )


def scipy_unit_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """What ``summarize.tfidf`` did with scipy: each row divided by its length."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sparse.csr_matrix(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix)


def numpy_unit_rows(rows: SparseRows) -> SparseRows:
    return scaled(rows, 1.0 / np.maximum(np.sqrt(squared_norms(rows)), 1e-12))


def same_arrays(rows: SparseRows, matrix: sparse.csr_matrix) -> bool:
    """The same entries in the same stored order (the order later sums follow)."""
    return (
        np.array_equal(rows.pointers, matrix.indptr)
        and np.array_equal(rows.columns, matrix.indices)
        and np.array_equal(rows.values, matrix.data)
    )


KINDS = {
    "shuffled": {},
    "ascending": {"ascending": True},  # scipy's canonical path: squares summed in stored order
    "duplicates": {"duplicates": True},
    "ascending with duplicates": {"ascending": True, "duplicates": True},
    "one row": {"height": 1, "empty_share": 0.0},  # a story of one sentence
    "stored zeros": {"zero_share": 0.3},
    "no rows": {"height": 0},
    "all rows empty": {"height": 5, "empty_share": 1.0},
}


@pytest.mark.parametrize("kind", KINDS)
def test_unit_rows_are_scipys(kind: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(TRIALS):
        rows = random_rows(rng, **KINDS[kind])
        matrix = as_csr(rows)
        assert np.array_equal(squared_norms(rows), matrix.multiply(matrix).sum(axis=1).A1)
        assert same_arrays(numpy_unit_rows(rows), scipy_unit_rows(matrix))


@pytest.mark.parametrize("kind", KINDS)
def test_products_sums_and_vector_products_are_scipys(kind: str) -> None:
    rng = np.random.default_rng(2)
    for _ in range(TRIALS):
        left = numpy_unit_rows(random_rows(rng, **KINDS[kind]))
        # Raw rows on the right, duplicates too: the product must not rely on unit rows.
        right = random_rows(rng, **{**KINDS[kind], "width": left.width})
        left_csr, right_csr = as_csr(left), as_csr(right)
        assert np.array_equal(products(left, right), (left_csr @ right_csr.T).toarray())
        assert np.array_equal(products(left, left), (left_csr @ left_csr.T).toarray())
        total = np.asarray(left_csr.sum(axis=0)).ravel()
        assert np.array_equal(column_sums(left), total)
        assert np.array_equal(times_vector(left, total), left_csr @ total)


def test_tfidf_is_scipys_with_unknown_terms_sharing_a_column() -> None:
    """Terms missing from the vocabulary share its last column: duplicates in a row, which scipy
    sums (in ``multiply`` and in the product with the diagonal). In summaries they cannot occur
    (the story's sentences include every candidate's), but the result must not depend on that."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(40)]
    shared = 0  # entries in a column an earlier entry of their row already holds
    for _ in range(TRIALS):
        known = rng.choice(words, size=25, replace=False)
        vocabulary = {word: k for k, word in enumerate(known)}
        idf = 1.0 + 3.0 * rng.random(len(vocabulary) + 1)
        sentences = [
            frozenset(rng.choice(words, size=int(rng.integers(0, 15)), replace=False))
            for _ in range(int(rng.integers(1, 12)))
        ]
        unknown = len(vocabulary)
        columns = [vocabulary.get(t, unknown) for terms in sentences for t in sorted(terms)]
        shared += columns.count(unknown) - sum(
            not terms <= vocabulary.keys() for terms in sentences
        )
        pointers = np.cumsum([0, *(len(terms) for terms in sentences)])
        matrix = sparse.csr_matrix(
            (idf[columns], columns, pointers), shape=(len(sentences), unknown + 1), dtype=float
        )
        assert same_arrays(tfidf(sentences, vocabulary, idf), scipy_unit_rows(matrix))
    assert shared > 0  # some sentence had two unknown terms


def test_these_inputs_are_ones_where_the_order_of_sums_shows() -> None:
    """Summed in another order (numpy's pairwise row sums, a dense product), results differ in
    the last bit: the exact comparisons above would catch a sum made in another order."""
    rng = np.random.default_rng(1)
    examples = [(rows, as_csr(rows).toarray()) for rows in (random_rows(rng) for _ in range(80))]
    assert any(not np.array_equal(np.sum(d * d, axis=1), squared_norms(r)) for r, d in examples)
    assert any(not np.array_equal(d @ d.T, products(r, r)) for r, d in examples)
