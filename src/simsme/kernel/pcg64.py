"""Uniform draws from a numpy PCG64 generator, compiled inline.

Numba implements ``Generator.random()`` as an indirect call into numpy's bit generator (about
7 ns); the kernel draws a uniform per SME and step in several phases, so that call is a large
share of its time. :func:`uniform` computes the same draw in the caller's own code (about 2 ns):
it advances numpy's PCG64 state in place (128-bit LCG step, XSL-RR output, the top 53 bits
scaled to [0, 1); numpy's ``pcg64_next_double``), so it returns exactly the value
``rng.random()`` would and leaves the generator exactly where ``rng.random()`` would. Draws of
other distributions (``rng.standard_normal()``, ``rng.beta()``, ...) keep using numpy's code on
the same state, so the stream is the one numpy would produce, draw for draw.

Only for generators whose bit generator is ``numpy.random.PCG64`` (the kernel's
:func:`~simsme.kernel.engine.replication_rng`); :func:`check_uniform` verifies the layout of
numpy's state against numpy itself and is run before the kernel is used.
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# PCG_DEFAULT_MULTIPLIER_128 (numpy/random/src/pcg64/pcg64.h)
_MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341


@intrinsic
def _pcg64_double(typingctx, generator):
    if not isinstance(generator, types.NumPyRandomGeneratorType):
        return None

    def codegen(context, builder, signature, args):
        i32, i64, i128 = ir.IntType(32), ir.IntType(64), ir.IntType(128)
        gen = cgutils.create_struct_proxy(signature.args[0])(context, builder, value=args[0])
        bit_generator = cgutils.create_struct_proxy(
            types.NumPyRandomBitGeneratorType("bit_generator")
        )(context, builder, value=gen.bit_generator)
        # state_address -> pcg64_state {pcg64_random_t *pcg_state; ...}
        # pcg64_random_t {uint128 state; uint128 inc;}
        holder = builder.inttoptr(bit_generator.state_address, i64.as_pointer().as_pointer())
        words = builder.bitcast(builder.load(holder), i128.as_pointer())
        state = builder.load(words, align=16)
        inc = builder.load(builder.gep(words, [ir.Constant(i32, 1)]), align=16)
        state = builder.add(builder.mul(state, ir.Constant(i128, _MULTIPLIER)), inc)
        builder.store(state, words, align=16)
        high = builder.trunc(builder.lshr(state, ir.Constant(i128, 64)), i64)
        rotation = builder.trunc(builder.lshr(state, ir.Constant(i128, 122)), i64)
        mixed = builder.xor(high, builder.trunc(state, i64))
        fshr = builder.module.declare_intrinsic(
            "llvm.fshr", [i64], ir.FunctionType(i64, [i64, i64, i64])
        )
        output = builder.call(fshr, [mixed, mixed, rotation])  # rotate right
        top = builder.uitofp(builder.lshr(output, ir.Constant(i64, 11)), ir.DoubleType())
        return builder.fmul(top, ir.Constant(ir.DoubleType(), 1.0 / 9007199254740992.0))

    return types.float64(generator), codegen


@njit(cache=True, inline="always")
def uniform(rng):
    """``rng.random()`` for a PCG64 generator, computed inline (same value, same state)."""
    return _pcg64_double(rng)


@njit(cache=True)
def _draws(rng, n, inline):
    out = np.empty(n)
    for k in range(n):
        if inline:
            out[k] = uniform(rng)
        else:
            out[k] = rng.random()
        if k % 5 == 0:
            out[k] += 0.0 * rng.standard_normal()  # numpy's own code shares the state
    return out


@functools.cache
def check_uniform() -> None:
    """Raise if :func:`uniform` does not reproduce numpy's PCG64 stream (a numpy change)."""
    a = _draws(np.random.Generator(np.random.PCG64(20221116)), 64, True)
    b = _draws(np.random.Generator(np.random.PCG64(20221116)), 64, False)
    if not np.array_equal(a, b):  # pragma: no cover - depends on numpy internals
        raise RuntimeError(
            "simsme.kernel.pcg64 does not reproduce numpy's PCG64 draws with numpy "
            f"{np.__version__}; the kernel cannot run with this numpy"
        )
