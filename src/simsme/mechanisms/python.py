"""The mechanisms as the Python interpreter runs them: the Mesa engine's view.

Every mechanism is written once, as a numba function (:mod:`simsme.mechanisms`). The kernel
compiles it; the Mesa engine runs its Python definition, the same source text, because calling
compiled code from Python first converts ("boxes") each argument, about a microsecond per call
and about ten when a numpy ``Generator`` is passed: more than the arithmetic of any mechanism.

:func:`as_python` gives a module's mechanisms as Python functions: each is the function numba
keeps on its dispatcher (``py_func``), rebound to globals in which every numba function it calls
is itself replaced by its Python version, and every module of mechanisms by its Python view. The
few functions with no Python source of the same meaning (the inline PCG64 uniform, which reads
numpy's generator state directly) name their Python equivalent with :func:`python_equivalent`:
``rng.random()`` for the inline uniform, the same number from the same state. So the Mesa engine
and the kernel run one definition and make the same draws in the same order.

Nothing here compiles anything.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

_EQUIVALENTS: dict[int, Callable[..., Any]] = {}
_VIEWS: dict[str, types.ModuleType] = {}
_FUNCTIONS: dict[int, Callable[..., Any]] = {}

_PACKAGES = ("simsme.rules", "simsme.mechanisms.")


def python_equivalent(compiled: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated Python function as what ``compiled`` does, run by the interpreter."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _EQUIVALENTS[id(compiled)] = function
        return function

    return register


def _is_dispatcher(value: Any) -> bool:
    return hasattr(value, "py_func") and hasattr(value, "targetoptions")


def _ours(module: types.ModuleType) -> bool:
    name = module.__name__
    return name == _PACKAGES[0] or name.startswith(_PACKAGES[1])


def python_function(function: Any) -> Callable[..., Any]:
    """The Python version of a numba function (the function itself if it is not one)."""
    equivalent = _EQUIVALENTS.get(id(function))
    if equivalent is not None:
        return equivalent
    if not _is_dispatcher(function):
        return function
    twin = _FUNCTIONS.get(id(function))
    if twin is None:
        source = function.py_func
        namespace = as_python(sys.modules[source.__module__]).__dict__
        twin = types.FunctionType(
            source.__code__, namespace, source.__name__, source.__defaults__, source.__closure__
        )
        twin.__doc__ = source.__doc__
        twin.__qualname__ = source.__qualname__
        twin.__module__ = source.__module__
        twin.__wrapped__ = function  # type: ignore[attr-defined]
        _FUNCTIONS[id(function)] = twin
    return twin


def as_python(module: types.ModuleType) -> types.ModuleType:
    """A view of ``module`` (:mod:`simsme.rules` or a module of :mod:`simsme.mechanisms`) in
    which every numba function is its Python version (:func:`python_function`)."""
    view = _VIEWS.get(module.__name__)
    if view is not None:
        return view
    view = types.ModuleType(module.__name__, module.__doc__)
    _VIEWS[module.__name__] = view  # before filling: mechanisms may refer to each other
    namespace = view.__dict__
    for key, value in vars(module).items():
        if key in ("__name__", "__doc__"):
            continue
        if isinstance(value, types.ModuleType) and _ours(value):
            namespace[key] = as_python(value)
        else:
            namespace[key] = python_function(value)
    return view
