"""CPU instructions numba does not offer as functions: counting and finding set bits of a word
(the feeds' unread masks), the high half of a 64-bit product (:mod:`sim.streams`' 128-bit
arithmetic), prefetching (the memory-bound loops over posts and feed rows), taking from a
shared counter atomically (threads handing out tasks) and flags that hand data from one thread
to another; and the calling thread's id, which the C library knows and numba does not tell."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of a 64-bit word (one CPU instruction)."""
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])
    return types.uint64(types.uint64), codegen


@intrinsic
def lowest_bit(typingctx, x):
    """Index of the lowest set bit of a non-zero 64-bit word (one CPU instruction)."""
    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))
    return types.uint64(types.uint64), codegen


@intrinsic
def mulhi(typingctx, a, b):
    """The high 64 bits of the 128-bit product of two 64-bit words (one CPU instruction)."""
    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        x = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        return builder.trunc(builder.lshr(x, ir.Constant(i128, 64)), ir.IntType(64))
    return types.uint64(types.uint64, types.uint64), codegen


@intrinsic
def prefetch(typingctx, ary, idx):
    """Ask the CPU to start loading ``ary[idx]`` into cache (no effect on any value). Loops
    whose loads depend on one another (an item's post, then its root, then the root's
    engagement) ask for the element a few iterations ahead, so that many loads are under way at
    once instead of one at a time: the loops here are bound by memory latency, not bandwidth.
    ``idx`` is an integer, or a tuple of them for an array of several dimensions."""
    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        a = context.make_array(aryty)(context, builder, args[0])
        vals, tys = ((cgutils.unpack_tuple(builder, args[1]), idxty.types)
                     if isinstance(idxty, types.BaseTuple) else ([args[1]], [idxty]))
        ind = [context.cast(builder, v, t, types.intp) for v, t in zip(vals, tys, strict=True)]
        ptr = cgutils.get_item_pointer(context, builder, aryty, a, ind, wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        # a read, kept in every cache level, of data
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.none(ary, idx), codegen


def _item_pointer(context, builder, aryty, ary, idx, idxty):
    """Pointer to ``ary[idx]`` (one integer index) in generated code."""
    a = context.make_array(aryty)(context, builder, ary)
    i = context.cast(builder, idx, idxty, types.intp)
    return cgutils.get_item_pointer(context, builder, aryty, a, [i], wraparound=False)


@intrinsic
def fetch_add(typingctx, ary, idx, val):
    """``ary[idx] += val`` as one atomic instruction, returning the value before: threads
    taking tasks from one counter each get a different one."""
    if not isinstance(ary.dtype, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty, valty = signature.args
        ptr = _item_pointer(context, builder, aryty, args[0], args[1], idxty)
        return builder.atomic_rmw("add", ptr, context.cast(builder, args[2], valty, aryty.dtype),
                                  "seq_cst")
    return ary.dtype(ary, idx, val), codegen


@intrinsic
def store_release(typingctx, ary, idx, val):
    """``ary[idx] = val``, made visible to other threads only after every write this thread
    made before it (a flag saying that data is ready: read it with :func:`load_acquire`)."""
    if not isinstance(ary.dtype, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty, valty = signature.args
        ptr = _item_pointer(context, builder, aryty, args[0], args[1], idxty)
        builder.store_atomic(context.cast(builder, args[2], valty, aryty.dtype), ptr,
                             "release", aryty.dtype.bitwidth // 8)
        return context.get_dummy_value()
    return types.none(ary, idx, val), codegen


@intrinsic
def load_acquire(typingctx, ary, idx):
    """``ary[idx]``, read afresh from memory each time (a loop waiting on it is not folded
    away); once it shows a flag another thread set with :func:`store_release`, this thread sees
    everything that thread wrote before setting it."""
    if not isinstance(ary.dtype, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ptr = _item_pointer(context, builder, aryty, args[0], args[1], idxty)
        return builder.load_atomic(ptr, "acquire", aryty.dtype.bitwidth // 8)
    return ary.dtype(ary, idx), codegen


@intrinsic
def thread_id(typingctx):
    """The calling thread's id in the operating system (the C library's ``gettid``, Linux):
    what :func:`os.sched_setaffinity` takes to pin one thread of a process."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), []), "gettid")
        return builder.call(fn, [])
    return types.int32(), codegen


AHEAD = 16
"""Iterations a prefetching loop looks ahead per dependent step (a few hundred cycles of
work, about one memory latency)."""
