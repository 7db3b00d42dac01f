"""Sparse rows in plain numpy, computed as scipy.sparse computes them, to the last bit.

The summarizer compares sentences as unit-length TF-IDF rows. Importing ``scipy.sparse`` for
that costs about 0.17 s (its array-API layer pulls in numpy.testing and f2py), on the critical
path of a rebuild after an edit. These few operations replace the scipy calls the summarizer
made, adding the same numbers in the same order as scipy's sparsetools: floating-point addition
is not associative, so another order could round differently, and a last-bit difference can
change which sentence a summary picks.

The order matters in three ways:
- scipy's row-at-a-time kernels (``csr_matmat``, ``csr_binop_csr_general``) collect a row's
  columns in a linked list and write them out in reverse order of first appearance;
- a cell of a product, a row times a vector and a column sum accumulate one term at a time,
  from 0, in stored order (``np.add.at`` adds in that order too);
- a row sum (``sum(axis=1)``) is ``np.add.reduceat``, whose pairwise summation groups the terms
  by their positions: the same call on the same array reproduces it.

Unlike ``cluster.Rows``, whose columns ascend, a row here keeps scipy's stored order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SparseRows:
    """A matrix by rows, as CSR arrays: row i holds ``columns[pointers[i]:pointers[i + 1]]``
    with ``values`` alike, in stored order (which decides the order of sums)."""

    pointers: np.ndarray  # int64, one more than there are rows
    columns: np.ndarray  # int64, per entry
    values: np.ndarray  # float64, per entry
    width: int  # number of columns

    @property
    def height(self) -> int:
        return len(self.pointers) - 1

    def row_numbers(self) -> np.ndarray:
        """The row of each entry."""
        return np.repeat(np.arange(self.height), np.diff(self.pointers))

    def is_canonical(self) -> bool:
        """Whether every row's columns strictly ascend (scipy's ``has_canonical_format``)."""
        ascending = self.columns[1:] > self.columns[:-1]
        row_starts = self.pointers[1:-1]
        ascending[row_starts[(row_starts > 0) & (row_starts < len(self.columns))] - 1] = True
        return bool(ascending.all())


def merged(rows: SparseRows, values: np.ndarray) -> SparseRows:
    """One entry per column of each row, holding the sum (from 0, in stored order) of the
    ``values`` of that column's entries, columns in reverse order of first appearance, zeros
    dropped: what scipy's row-at-a-time kernels make of a row (``csr_matmat`` computing
    ``diags(d) @ m``, or ``csr_binop_csr_general`` adding up a row before an elementwise op)."""
    keys = rows.row_numbers() * rows.width + rows.columns
    unique_keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    sums = np.zeros(len(unique_keys))
    np.add.at(sums, inverse, values)
    row_of = unique_keys // rows.width
    order = np.lexsort((-first, row_of))  # by row, the latest first appearance first
    counts = np.bincount(row_of, minlength=rows.height)
    columns = unique_keys[order] % rows.width
    in_order = SparseRows(_pointers(counts), columns, sums[order], rows.width)
    return _nonzero(in_order, in_order.values)


def _pointers(counts: np.ndarray) -> np.ndarray:
    """Where each row starts (and the last ends), given how many entries each row has."""
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _nonzero(rows: SparseRows, values: np.ndarray) -> SparseRows:
    """``rows`` holding ``values`` instead, without the entries whose value is 0 (scipy drops
    them from a product's result: that shifts how ``reduceat`` groups a row's terms)."""
    kept = values != 0
    counts = np.bincount(rows.row_numbers()[kept], minlength=rows.height)
    return SparseRows(_pointers(counts), rows.columns[kept], values[kept], rows.width)


def row_sums(rows: SparseRows) -> np.ndarray:
    """Each row's sum, as scipy's ``csr.sum(axis=1)`` makes it (``np.add.reduceat`` over the
    non-empty rows; 0 for an empty one)."""
    sums = np.zeros(rows.height)
    non_empty = np.flatnonzero(np.diff(rows.pointers))
    sums[non_empty] = np.add.reduceat(rows.values, rows.pointers[non_empty])
    return sums


def squared_norms(rows: SparseRows) -> np.ndarray:
    """Each row's squared length, as ``m.multiply(m).sum(axis=1)``.

    scipy multiplies elementwise in stored order when every row is canonical, else row by row
    with duplicates summed first (then in reverse order of first appearance); the order decides
    how ``reduceat`` groups the squares.
    """
    source = rows if rows.is_canonical() else merged(rows, rows.values)
    return row_sums(_nonzero(source, source.values * source.values))


def scaled(rows: SparseRows, factors: np.ndarray) -> SparseRows:
    """Row i times ``factors[i]``, as ``sparse.diags(factors) @ m``: each entry's product, the
    products of a row's duplicate columns summed, a row in reverse order of first appearance."""
    return merged(rows, factors[rows.row_numbers()] * rows.values)


def products(left: SparseRows, right: SparseRows) -> np.ndarray:
    """Every row of ``left`` dotted with every row of ``right``: ``(left @ right.T).toarray()``.

    scipy (``csr_matmat``) fills cell (i, j) entry by entry of left row i, in stored order:
    entry (column k, value v) adds v * w for each w that right row j holds in column k.
    """
    out = np.zeros(left.height * right.height)
    if not len(left.columns) or not len(right.columns):
        return out.reshape(left.height, right.height)
    # right.T as CSR, as scipy converts it: per column, the entries of the rows holding it, by row.
    by_column = np.argsort(right.columns, kind="stable")
    column_starts = _pointers(np.bincount(right.columns, minlength=right.width))
    starts = column_starts[left.columns]
    counts = column_starts[left.columns + 1] - starts
    entry = np.repeat(np.arange(len(left.columns)), counts)  # left entries, each once per match
    # The k-th match of an entry is right entry by_column[its column's start + k].
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    match = by_column[np.arange(len(entry)) + shift]
    cells = left.row_numbers()[entry] * right.height + right.row_numbers()[match]
    np.add.at(out, cells, left.values[entry] * right.values[match])
    return out.reshape(left.height, right.height)


def times_vector(rows: SparseRows, vector: np.ndarray) -> np.ndarray:
    """``m @ vector``: each row's products with the vector added from 0 in stored order
    (``csr_matvec``)."""
    out = np.zeros(rows.height)
    np.add.at(out, rows.row_numbers(), rows.values * vector[rows.columns])
    return out


def column_sums(rows: SparseRows) -> np.ndarray:
    """``m.sum(axis=0)``, flattened: each column's values added from 0, row after row in order
    (scipy computes ``ones @ m`` with ``csc_matvec`` on the transpose)."""
    out = np.zeros(rows.width)
    np.add.at(out, rows.columns, rows.values)
    return out
