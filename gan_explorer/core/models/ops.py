"""Low-level tensor operations of StyleGAN2, written from the paper in plain PyTorch.

Conventions follow NVIDIA's published networks so that imported weights render the same:
padding lists are ``[x0, x1, y0, y1]``; a resampling filter is a normalised 2-D FIR kernel;
upsampling by 2 multiplies the filter gain by 4 to keep the signal's energy.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

ACTIVATION_GAINS = {"linear": 1.0, "relu": math.sqrt(2.0), "lrelu": math.sqrt(2.0)}


def setup_filter(taps=(1, 3, 3, 1)) -> torch.Tensor:
    """A normalised 2-D FIR kernel: the outer product of 1-D taps, summing to one."""
    f = torch.as_tensor(np.asarray(taps, dtype=np.float32))
    if f.ndim == 1:
        f = torch.outer(f, f)
    return f / f.sum()


def bias_act(x, b=None, act="linear", alpha=0.2, gain=None, clamp=None):
    """Add a per-channel bias (dim 1), apply an activation, scale by gain, clamp."""
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2)).to(x.dtype)
    if act == "lrelu":
        x = F.leaky_relu(x, alpha)
    elif act == "relu":
        x = F.relu(x)
    elif act != "linear":
        raise ValueError(f"unknown activation {act!r}")
    gain = ACTIVATION_GAINS[act] if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), flip_filter=False, gain=1.0):
    """Upsample by zero insertion, pad (negative values crop), FIR filter, downsample.

    `f` is a 2-D kernel, a 1-D kernel applied separably (x then y), or None (identity).
    Upsampling and downsampling run in polyphase form (a strided transposed / plain
    convolution): the same result as the textbook steps without computing on the
    inserted zeros or on samples that are thrown away.
    """
    if f is None:
        f = torch.ones([1, 1], dtype=x.dtype, device=x.device)
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if flip_filter:
        f = f.flip(list(range(f.ndim)))  # the kernels below convolve; flipping makes it correlate
    px0, px1, py0, py1 = padding
    if f.ndim == 2:
        return _upfirdn_axis2d(x, f, up, down, px0, px1, py0, py1)
    x = _upfirdn_axis(x, f, up, down, px0, px1, axis=3)
    return _upfirdn_axis(x, f, up, down, py0, py1, axis=2)


def _upfirdn_axis(x, f, up, down, p0, p1, axis):
    """One axis of upfirdn2d with a 1-D kernel f (true convolution)."""
    n, c, h, w = x.shape
    taps = f.shape[0]
    length = x.shape[axis]
    shape = [1, 1, 1, taps] if axis == 3 else [1, 1, taps, 1]
    stride = (1, up) if axis == 3 else (up, 1)
    kernel = f.reshape(shape).repeat(c, 1, 1, 1)
    if up > 1:
        # Zero insertion + convolution == transposed convolution with stride `up` ("full" output).
        full = F.conv_transpose2d(x, kernel, stride=stride, groups=c)
        full_start = -(taps - 1)  # index of full[0] in the convolution of the padded upsampled signal
    else:
        full = x
        full_start = None
    up_len = length * up
    out_len = up_len + p0 + p1 - taps + 1
    if full_start is None:
        # Plain FIR: pad (or crop), then a strided valid convolution (downsampling for free).
        pad = [max(p0, 0), max(p1, 0), 0, 0] if axis == 3 else [0, 0, max(p0, 0), max(p1, 0)]
        x = F.pad(x, pad)
        if axis == 3:
            x = x[:, :, :, max(-p0, 0): x.shape[3] - max(-p1, 0)]
        else:
            x = x[:, :, max(-p0, 0): x.shape[2] - max(-p1, 0), :]
        ds = (1, down) if axis == 3 else (down, 1)
        return F.conv2d(x, kernel.flip([2, 3]), stride=ds, groups=c)
    # Output sample j of the padded valid convolution sits at full index j + (taps - 1 - p0).
    offset = taps - 1 - p0
    lo, hi = offset, offset + out_len
    pad_lo, pad_hi = max(-lo, 0), max(hi - full.shape[axis], 0)
    if pad_lo or pad_hi:
        pad = [pad_lo, pad_hi, 0, 0] if axis == 3 else [0, 0, pad_lo, pad_hi]
        full = F.pad(full, pad)
        lo, hi = lo + pad_lo, hi + pad_lo
    full = full.narrow(axis, lo, hi - lo)
    if down > 1:
        full = full[:, :, :, ::down] if axis == 3 else full[:, :, ::down, :]
    return full


def _upfirdn_axis2d(x, f, up, down, px0, px1, py0, py1):
    n, c, h, w = x.shape
    c = int(c)  # a constant channel count, also while an exporter traces the shapes
    kernel = f.flip([0, 1])[None, None].repeat(c, 1, 1, 1)  # conv2d correlates: flip for convolution
    if up == 1 and px0 == px1 and py0 == py1 and min(px0, py0) >= 0:
        # Symmetric padding: the convolution pads by itself, without a padded copy.
        if torch.is_grad_enabled() and x.requires_grad:
            return _DepthwiseFIR.apply(x, kernel, down, (py0, px0))
        return F.conv2d(x, kernel, groups=c, stride=down, padding=(py0, px0))
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    if min(px0, px1, py0, py1) < 0:
        x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    return F.conv2d(x, kernel, groups=c, stride=down)


class _DepthwiseFIR(torch.autograd.Function):
    """A fixed depthwise FIR filter (conv2d, groups = channels) whose gradient is its adjoint
    (conv_transpose2d) written as another Function, and back: R1 and path-length steps
    differentiate twice through these filters, and PyTorch's own double backward of a grouped
    convolution runs one convolution per channel group on the CPU (about ten times the calls)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        ctx.save_for_backward(kernel)
        ctx.stride, ctx.padding, ctx.in_size = stride, padding, x.shape[2:]
        return F.conv2d(x, kernel, groups=kernel.shape[0], stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad):
        (kernel,) = ctx.saved_tensors
        return _DepthwiseFIRAdjoint.apply(grad, kernel, ctx.stride, ctx.padding, ctx.in_size), None, None, None


class _DepthwiseFIRAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grad, kernel, stride, padding, in_size):
        ctx.save_for_backward(kernel)
        ctx.stride, ctx.padding = stride, padding
        kh, kw = kernel.shape[2:]
        out_padding = [in_size[i] - ((grad.shape[2 + i] - 1) * stride - 2 * padding[i] + k)
                       for i, k in enumerate((kh, kw))]
        return F.conv_transpose2d(grad, kernel, groups=kernel.shape[0], stride=stride, padding=padding,
                                  output_padding=out_padding)

    @staticmethod
    def backward(ctx, grad):
        (kernel,) = ctx.saved_tensors
        return _DepthwiseFIR.apply(grad, kernel, ctx.stride, ctx.padding), None, None, None, None


def upfirdn2d_reference(x, f, up=1, down=1, padding=(0, 0, 0, 0), flip_filter=False, gain=1.0):
    """The textbook formulation (zero insertion, pad, full-rate FIR, subsample); for tests and benchmarks."""
    if f is None:
        f = torch.ones([1, 1], dtype=x.dtype, device=x.device)
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    px0, px1, py0, py1 = padding
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c)
    else:
        x = F.conv2d(x, f.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
        x = F.conv2d(x, f.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down]


def upsample2d(x, f, up=2):
    fw = f.shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return upfirdn2d(x, f, up=up, padding=(p0, p1, p0, p1), gain=up * up)


def downsample2d(x, f, down=2):
    fw = f.shape[-1]
    p0, p1 = (fw - down + 1) // 2, (fw - down) // 2
    return upfirdn2d(x, f, down=down, padding=(p0, p1, p0, p1))


def transposed_weight(w, flip_weight=True):
    """The [in, out, kh, kw] kernel conv2d_resample's upsampling path hands conv_transpose2d.

    Contiguous, so a caller can compute it once per weight update instead of once per call.
    """
    wt = w.transpose(0, 1)
    if flip_weight:
        wt = wt.flip([2, 3])
    return wt.contiguous()


def conv2d_resample(x, w, f=None, up=1, down=1, padding=0, flip_weight=True, wt=None):
    """2-D convolution with optional FIR up- or downsampling by 2 (never both).

    ``flip_weight=False`` makes it a true convolution; NVIDIA's layers use that for
    upsampling layers, and a plain correlation otherwise. ``wt``: a cached
    ``transposed_weight(w, flip_weight)`` for the upsampling path.
    """
    out_ch, in_ch, kh, kw = w.shape if w is not None else (wt.shape[1], wt.shape[0], *wt.shape[2:])
    if up > 1 and down > 1:
        raise ValueError("conv2d_resample: up and down at once is not supported")
    if up == 1 and down == 1:
        if not flip_weight and (kh > 1 or kw > 1):
            w = w.flip([2, 3])
        return F.conv2d(x, w, padding=padding)
    fw = f.shape[-1]
    if down > 1:
        p0 = padding + (fw - down + 1) // 2
        p1 = padding + (fw - down) // 2
        if kh == 1 and kw == 1:
            x = upfirdn2d(x, f, down=down, padding=(p0, p1, p0, p1))
            return F.conv2d(x, w)
        x = upfirdn2d(x, f, padding=(p0, p1, p0, p1))
        if not flip_weight:
            w = w.flip([2, 3])
        return F.conv2d(x, w, stride=down)
    # Upsampling: a transposed convolution with stride `up`, then the FIR filter.
    p0 = padding + (fw + up - 1) // 2 - (kw - 1)
    p1 = padding + (fw - up) // 2 - (kw - up)
    transposed_pad = max(min(-p0, -p1), 0)
    if wt is None:
        wt = transposed_weight(w, flip_weight)
    x = F.conv_transpose2d(x, wt, stride=up, padding=transposed_pad)
    p0 += transposed_pad
    p1 += transposed_pad
    return upfirdn2d(x, f, padding=(p0, p1, p0, p1), gain=up * up)


def demodulation_coefficients(styles, weight_sq_sum, eps=1e-8):
    """[n, out]: 1 / ||w'_o|| of the per-sample modulated weights (Karras et al. 2020, eq. 3).

    sum_{i,k} (s_i w_oik)^2 = sum_i s_i^2 * sum_k w_oik^2, so it is a small matrix product of
    the squared styles with the per-kernel sums of squared weights ``weight_sq_sum`` [out, in];
    no [n, out, in, kh, kw] tensor is built (that tensor cost a fifth of a frame and grew with n).
    """
    return (styles.square() @ weight_sq_sum.t() + eps).rsqrt()


def modulated_conv2d(x, weight, styles, noise=None, up=1, down=1, padding=0,
                     resample_filter=None, demodulate=True, flip_weight=True,
                     weight_sq_sum=None, wt=None):
    """StyleGAN2's modulated convolution (Karras et al. 2020, eq. 1-3).

    Scales the input channels by the per-sample styles, convolves with the shared
    weight, then rescales each output channel by the demodulation coefficient that
    the modulated weight would have. Algebraically equal to convolving with per-sample
    weights (the textbook form: a grouped convolution with groups = batch), but one
    convolution for the whole batch. ``weight_sq_sum`` ([out, in], the kernel sums of
    squared weights) and ``wt`` (``transposed_weight``) may be cached by the caller.
    """
    n = x.shape[0]
    styles = styles.to(x.dtype)
    if demodulate:
        if weight_sq_sum is None:
            weight_sq_sum = weight.square().sum(dim=[2, 3])
        dcoefs = demodulation_coefficients(styles, weight_sq_sum.to(x.dtype))  # [n, out_ch]
    x = x * styles.reshape(n, -1, 1, 1)
    x = conv2d_resample(x, weight.to(x.dtype), resample_filter, up=up, down=down,
                        padding=padding, flip_weight=flip_weight, wt=wt)
    if demodulate:
        x = x * dcoefs.to(x.dtype).reshape(n, -1, 1, 1)
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def modulated_conv2d_reference(x, weight, styles, noise=None, up=1, padding=0, resample_filter=None,
                               demodulate=True, flip_weight=True):
    """The textbook form, as NVIDIA's reference ops write it: build every sample's modulated
    (and demodulated) weight [n, out, in, kh, kw] and run one grouped convolution with
    groups = n, resampling with the zero-insertion FIR (`upfirdn2d_reference`). For
    benchmarks and tests; equal to `modulated_conv2d` up to float rounding."""
    n, in_ch = x.shape[:2]
    out_ch, _, kh, kw = weight.shape
    w = weight.unsqueeze(0) * styles.to(x.dtype).reshape(n, 1, -1, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, -1, 1, 1, 1)
    x = x.reshape(1, n * in_ch, *x.shape[2:])
    w = w.reshape(n * out_ch, in_ch, kh, kw)
    if up > 1:
        # A grouped transposed convolution, then the FIR low-pass at full rate (zero insertion).
        fw = resample_filter.shape[-1]
        p0 = padding + (fw + up - 1) // 2 - (kw - 1)
        p1 = padding + (fw - up) // 2 - (kw - up)
        wt = w.reshape(n, out_ch, in_ch, kh, kw).transpose(1, 2).reshape(n * in_ch, out_ch, kh, kw)
        x = F.conv_transpose2d(x, wt.flip([2, 3]) if flip_weight else wt, stride=up, groups=n)
        x = upfirdn2d_reference(x, resample_filter, padding=(p0, p1, p0, p1), gain=up * up)
    else:
        x = F.conv2d(x, w if flip_weight else w.flip([2, 3]), padding=padding, groups=n)
    x = x.reshape(n, out_ch, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def normalize_2nd_moment(x, dim=1, eps=1e-8):
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()
