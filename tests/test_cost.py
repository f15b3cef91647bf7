"""Tests of actlab.cost: operation counts that explain an activation's cost without a clock."""

from __future__ import annotations

import numpy as np
import pytest

from actlab import activations as A
from actlab.cost import OperationCount, count_operations

ELEMENTWISE = [n for n in A.names() if A.get(n).elementwise]


def test_relu_is_one_pass_without_transcendental_or_branch():
    """Is ReLU counted as exactly one elementwise maximum?"""
    assert count_operations("relu") == OperationCount(1, 0, 0, ("maximum",))


def test_sigmoid_counts_its_exponential_and_its_branch():
    """Does the overflow-safe sigmoid show its one exp and its one np.where among its passes?"""
    count = count_operations("sigmoid")
    assert count.transcendental == 1 and count.ops.count("exp") == 1
    assert count.branches == 1 and "where" in count.ops
    assert count.passes > count_operations("relu").passes


def test_nested_activations_are_counted_end_to_end():
    """Is SELU (λ times ELU) one pass more than ELU, the final scaling included?"""
    elu, selu = count_operations("elu"), count_operations("selu")
    assert selu.passes == elu.passes + 1
    assert selu.ops[-1] == "multiply"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_counts_depend_on_the_formula_not_on_the_array_size(name):
    """Are the counts for 10 and for 10,000 numbers the same, for f and for f'?"""
    for derivative in (False, True):
        assert (count_operations(name, derivative, size=10)
                == count_operations(name, derivative, size=10_000))


def test_counting_leaves_the_activations_untouched():
    """After counting, do the activations return plain float32 arrays with unchanged values?"""
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    before = A.swish(x)
    count_operations("swish")
    after = A.swish(x)
    assert type(after) is np.ndarray and after.dtype == np.float32
    np.testing.assert_array_equal(before, after)


def test_mixing_activations_are_refused():
    """Is softmax, which is not elementwise, refused with a ValueError?"""
    with pytest.raises(ValueError, match="elementwise"):
        count_operations("softmax")
