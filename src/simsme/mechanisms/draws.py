"""Random draws shared by every mechanism: one uniform, a proportional pick, a Poisson count.

Both engines draw from the replication's numpy ``Generator`` (PCG64), in the same order. In
compiled code :func:`uniform` computes ``rng.random()`` inline on numpy's PCG64 state (the same
number, the generator left in the same place; see below); run by the Python interpreter (the Mesa
engine, :mod:`simsme.mechanisms.python`) it *is* ``rng.random()``. Other distributions
(``rng.standard_normal()``, ``rng.beta()``, ``rng.poisson()``) use numpy's own code on the same
state in both engines.

Why inline: numba implements ``Generator.random()`` as an indirect call into numpy's bit
generator (about 7 ns); the kernel draws a uniform per SME and step in several phases, so that
call is a large share of its time. :func:`uniform` advances numpy's PCG64 state in place
(128-bit LCG step, XSL-RR output, the top 53 bits scaled to [0, 1); numpy's
``pcg64_next_double``), about 2 ns. Only for generators whose bit generator is
``numpy.random.PCG64``; :func:`simsme.kernel.pcg64.check_uniform` verifies the layout of numpy's
state against numpy itself before the kernel is used.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.cpu import CPUTargetOptions
from numba.extending import intrinsic

from simsme.mechanisms.python import python_equivalent

# Compiled with numba's reference counting even inside the kernel's phases, which are compiled
# without it (an option the callees inherit); a numba without the private option has it on.
WITH_NRT = {"_nrt": True} if hasattr(CPUTargetOptions, "_nrt") else {}

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


@njit(inline="always")
def uniform(rng):
    """``rng.random()`` for a PCG64 generator, computed inline (same value, same state)."""
    return _pcg64_double(rng)


@python_equivalent(uniform)
def _uniform_python(rng):
    return rng.random()


@njit(**WITH_NRT)
def poisson(rng, mean):
    """``rng.poisson(mean)`` (compiled with reference counting: numba's implementation builds a
    list for large means)."""
    return rng.poisson(mean)


@python_equivalent(poisson)
def _poisson_python(rng, mean):
    return int(rng.poisson(mean))


@njit(inline="always")
def occurs(rng, probability):
    """One Bernoulli trial: a uniform draw below ``probability``."""
    return uniform(rng) < probability


@njit(inline="always")
def pick_index(rng, n):
    """One of ``0 .. n - 1``, uniformly (one uniform draw)."""
    return int(uniform(rng) * n)


@njit(inline="always")
def pick_in_proportion(rng, weights, total):
    """Index drawn with probability ``weights[k] / total`` (one uniform draw; ``total`` > 0 is
    the sum of the weights in index order). Rounding that leaves the draw above the last
    positive weight picks that last one."""
    pick = uniform(rng) * total
    chosen = -1
    for k in range(len(weights)):
        if weights[k] > 0.0:
            chosen = k
            pick -= weights[k]
            if pick <= 0.0:
                break
    return chosen
