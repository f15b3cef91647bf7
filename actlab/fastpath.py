"""The speed-up behind ``nn.train(fast=True)``: every parameter in one flat array while training.

Nothing in the course needs this module to be understood; :mod:`actlab.nn` is the whole story.

Why it pays: an optimiser step runs about a dozen numpy operations per parameter array (Adam:
two moment updates, a square root, a division, ...). At batch 32 the arrays of the course's
784-128-64-10 MLP are small, so the fixed cost of each numpy call counts: six arrays cost six
times the calls. For the length of a training run this module copies every parameter into one
flat array, and every gradient into another, and hands each layer views of them in place of
its own arrays. The layers' forward and backward passes are unchanged (``backward`` writes its
gradients in place, into the views); the optimiser then updates everything in one vectorised
pass. ``benchmarks/bench_mlp.py`` prints what it gains (about a tenth of an epoch).

Why the numbers do not change: this is only done for an optimiser that declares its update
elementwise (``Optimizer.elementwise``: SGD and Adam), where each entry is updated from its own
parameter, gradient and state alone, so that updating the concatenation computes the same
float operations as updating the arrays one by one, bit for bit.

Why it cannot surprise anyone: when the run ends, every layer gets back the very arrays it held
before (now holding the trained values) and the optimiser's state is split back into one entry
per array, so a model and an optimiser leave ``train(fast=True)`` exactly as they would leave
``train(fast=False)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FlatParameters"]


class FlatParameters:
    """Context manager: ``model``'s parameters as views of one flat array while inside.

    ``step()`` updates every parameter with ``optimizer``: in one pass over the flat arrays
    when packing applies, else (``enabled=False``, an optimiser that is not elementwise,
    layers that mix dtypes or keep parameters they do not name in ``param_names``, as a nested
    :class:`~actlab.nn.Sequential` does) as ``optimizer.step(model)``, array by array.
    ``packed`` says which.
    """

    def __init__(self, model, optimizer, enabled: bool = True):
        self.model, self.optimizer = model, optimizer
        # (layer, parameter attribute, gradient attribute) for every parameter, in the order
        # of model.params(), which is the order of the optimiser's state.
        self._slots = [(layer, p, g) for layer in model.layers
                       for p, g in zip(getattr(layer, "param_names", ()),
                                       getattr(layer, "grad_names", ()))]
        self.packed = enabled and self._applies()
        self._originals: list[tuple[np.ndarray, np.ndarray]] = []
        self._params = self._grads = None

    def _applies(self) -> bool:
        if not getattr(self.optimizer, "elementwise", False) or not self._slots:
            return False
        if any(len(layer.params()) != len(getattr(layer, "param_names", ()))
               for layer in self.model.layers):
            return False
        arrays = [getattr(layer, a) for layer, p, g in self._slots for a in (p, g)]
        if len({a.dtype for a in arrays}) != 1:
            return False
        if any(getattr(layer, p).shape != getattr(layer, g).shape for layer, p, g in self._slots):
            return False
        # An optimiser that has already stepped other parameters keeps them; its own step
        # then raises the clear error, unpacked.
        shapes = getattr(self.optimizer, "_shapes", None)
        return shapes is None or shapes == [(a.shape, a.dtype) for a in self.model.params()]

    def __enter__(self):
        if not self.packed:
            return self
        self._originals = [(getattr(layer, p), getattr(layer, g)) for layer, p, g in self._slots]
        total = sum(value.size for value, _ in self._originals)
        dtype = self._originals[0][0].dtype
        self._params, self._grads = np.empty(total, dtype), np.empty(total, dtype)
        offset = 0
        for (layer, p, g), (value, grad) in zip(self._slots, self._originals):
            end = offset + value.size
            param_view = self._params[offset:end].reshape(value.shape)
            grad_view = self._grads[offset:end].reshape(value.shape)
            param_view[...], grad_view[...] = value, grad
            setattr(layer, p, param_view)
            setattr(layer, g, grad_view)
            offset = end
        self._pack_state()
        return self

    def step(self) -> None:
        if self.packed:
            self.optimizer.step([self._params], [self._grads])
        else:
            self.optimizer.step(self.model)

    def __exit__(self, *exc_info):
        if not self.packed:
            return
        for (layer, p, g), (value, grad) in zip(self._slots, self._originals):
            value[...], grad[...] = getattr(layer, p), getattr(layer, g)
            setattr(layer, p, value)
            setattr(layer, g, grad)
        self._unpack_state()
        self._originals, self._params, self._grads = [], None, None

    # The optimiser keeps one tuple of state arrays (velocity; Adam's moments and scratch) per
    # parameter array, each of that array's shape, in ``_state``, and their shapes and dtypes
    # in ``_shapes``. Packed, it holds one tuple of flat arrays instead.

    def _pack_state(self) -> None:
        opt = self.optimizer
        if opt._state is None:
            return  # the first step creates flat state; _unpack_state splits it
        opt._state = [tuple(np.concatenate([s[k].reshape(-1) for s in opt._state])
                            for k in range(len(opt._state[0])))]
        opt._shapes = [(self._params.shape, self._params.dtype)]

    def _unpack_state(self) -> None:
        opt = self.optimizer
        if opt._state is None:
            return
        (flat,) = opt._state
        state, offset = [], 0
        for value, _ in self._originals:
            end = offset + value.size
            state.append(tuple(s[offset:end].reshape(value.shape).copy() for s in flat))
            offset = end
        opt._state = state
        opt._shapes = [(value.shape, value.dtype) for value, _ in self._originals]
