"""Common operations as a learner writes them, one group per function; tests/test_sweep.py
runs every group inside the sandbox (in the restricted dialect) and outside, and compares.

Every group returns plain values (tensors, lists, numbers, strings): what a task may return.
(Named tensors are not here: torch 2.13 no longer has them.)
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


def tensors():
    torch.manual_seed(0)
    x = torch.randn(3, 4)
    i = torch.arange(12).reshape(3, 4)
    out = [x.t().contiguous(), x.view(4, 3), x.reshape(-1), x.permute(1, 0), x.unsqueeze(0).squeeze(0),
           x.expand(2, 3, 4), x.repeat(2, 1), x.flatten(), torch.cat([x, x]), torch.stack([x, x], dim=1),
           *x.chunk(2, dim=1), *x.split([1, 3], dim=1), x.gather(1, i % 4), torch.zeros(3, 4).scatter(1, i % 4, x),
           torch.zeros(3, 4).scatter_add(1, i % 4, x), x.index_select(0, torch.tensor([2, 0])),
           x.masked_fill(x > 0, 0.0), torch.where(x > 0, x, -x), x.clamp(-0.5, 0.5), *x.sort(dim=1), *x.topk(2),
           x.argmax(dim=1), x.cumsum(0), x.cumprod(1), torch.einsum("ij,kj->ik", x, x), x @ x.T,
           torch.bmm(x[None], x.T[None]), torch.outer(x[0], x[1]), torch.kron(x[:2, :2], x[:2, :2]), x.tril(),
           x.triu(1), torch.diag(x[0]), torch.trace(x @ x.T), torch.linalg.vector_norm(x), *torch.unique(i % 5, return_counts=True),
           torch.bincount(i.flatten() % 4), torch.histc(x, bins=4), torch.nonzero(x > 0), x.roll(1, 0), x.flip(1),
           *torch.meshgrid(torch.arange(3), torch.arange(2), indexing="ij"), torch.broadcast_to(x[0], (2, 4)),
           x.sum(), x.mean(dim=0), x.std(dim=1), x.var(), *x.max(dim=1), x.amin(), x.prod(), x.abs().sqrt(), x.exp(),
           x.log1p().nan_to_num(), x.sigmoid(), x.tanh(), x.softmax(-1), x.round(decimals=2), x.floor(), x.sign(),
           i // 3, i % 3, i / 3, i.float() ** 0.5, i.to(torch.float64), i.bool().int(), torch.arange(0, 1, 0.25),
           torch.linspace(0, 1, 5), torch.eye(3), torch.full((2, 2), 7), torch.zeros_like(x), torch.ones(2, dtype=torch.int8),
           torch.tensor([[1, 2], [3, 4]]).T.tolist(), x.shape[0], list(x.shape), x.dtype.is_floating_point, x.numel(),
           x.allclose(x + 1e-9), torch.equal(x, x), torch.isclose(x, x).all(), x.is_contiguous(), x.t().is_contiguous(),
           torch.tensor(3.5).item(), x.argsort(dim=0), torch.searchsorted(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.5])),
           torch.bucketize(x, torch.tensor([-1.0, 0.0, 1.0])), x.diff(dim=1), torch.cdist(x, x), torch.tensordot(x, x, dims=([1], [1])),
           x.new_zeros(2), x.unfold(1, 2, 1), x.narrow(1, 1, 2), x.movedim(0, 1), x.select(1, 2), torch.take(x, torch.tensor([0, 5])),
           torch.atleast_2d(torch.tensor(1.0)), torch.block_diag(x[:1, :1], x[:2, :2]), torch.cartesian_prod(torch.arange(2), torch.arange(2)),
           torch.combinations(torch.arange(4), 2), torch.randperm(5), torch.randint(0, 10, (4,)), torch.rand(2), torch.normal(0.0, 1.0, (3,)),
           torch.multinomial(torch.tensor([0.2, 0.8]), 4, replacement=True)]
    return out


def in_place_and_out():
    torch.manual_seed(1)
    x = torch.randn(4, 4)
    y = x.clone()
    y.add_(1).mul_(2).clamp_(max=3).sub_(x, alpha=0.5).div_(2)
    z = torch.zeros(4, 4)
    z.index_add_(0, torch.tensor([0, 0, 2, 3]), x)
    o = torch.empty(4, 4)
    torch.add(x, x, out=o)
    m = torch.empty(4, 4)
    torch.matmul(x, x, out=m)
    s = torch.zeros(3).scatter_reduce_(0, torch.tensor([0, 1, 0, 2]), torch.tensor([1.0, 2.0, 3.0, 4.0]), reduce="amax")
    c = torch.zeros(3)
    c += torch.ones(3)
    c[1] *= 5
    w = torch.arange(6.0)
    w[w > 2] = -1
    w.masked_fill_(w < 0, 9)
    d = torch.zeros(3, 3)
    d.fill_diagonal_(1.0)
    e = torch.empty(2, 3).fill_(4.0)
    e.copy_(torch.ones(2, 3))
    e.zero_()
    u = torch.ones(3, 3).uniform_(0, 1)
    return [y, z, o, m, s, c, w, d, e, u, torch.cumsum(x, 0, out=torch.empty(4, 4))]


def indexing():
    torch.manual_seed(2)
    x = torch.randn(4, 5, 6)
    i = torch.tensor([0, 2, 3])
    mask = x[..., 0] > 0
    y = x.clone()
    y[mask] = 0.0
    y[:, i, 1:3] += 1
    y[0, [1, 2], [3, 4]] = torch.tensor([7.0, 8.0])
    z = x.clone()
    z.index_put_((torch.tensor([0, 1]), torch.tensor([2, 3])), torch.ones(6), accumulate=True)
    return [x[1], x[:, 2], x[..., -1], x[None, 1, ::2], x[i], x[i, i], x[mask], x[x > 1], x[:, [0, 4]][:, :, [5]],
            x[torch.tensor([True, False, True, False])], y, z, list(x[1:3, ::2, 2:].shape), x.flatten()[torch.tensor([[0, 1], [2, 3]])]]


def linear_algebra():
    torch.manual_seed(3)
    a = torch.randn(4, 4, dtype=torch.float64)
    spd = a @ a.T + 4 * torch.eye(4, dtype=torch.float64)
    b = torch.randn(4, 2, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    u, s, vh = torch.linalg.svd(a[:, :3], full_matrices=False)
    evals, evecs = torch.linalg.eigh(spd)
    sign, logdet = torch.linalg.slogdet(a)
    return [torch.linalg.inv(a), torch.linalg.det(a), torch.linalg.solve(a, b), q, r, u @ torch.diag(s) @ vh, s,
            torch.linalg.svdvals(a), evals, evecs.abs(), torch.linalg.norm(a), torch.linalg.matrix_norm(a, ord="nuc"),
            torch.linalg.matrix_rank(a), torch.linalg.pinv(a[:, :3]), torch.linalg.cholesky(spd),
            torch.linalg.lstsq(a, b).solution, torch.linalg.cross(a[:, :3], a[:, 1:]), torch.linalg.matrix_exp(a / 4),
            sign, logdet, torch.linalg.eigvals(a).abs().sort().values, torch.linalg.matrix_power(a, 3), torch.linalg.multi_dot([a, a, b]),
            torch.linalg.vector_norm(a, ord=1, dim=0), torch.cholesky_solve(b, torch.linalg.cholesky(spd)), torch.linalg.vecdot(a, a),
            torch.triangular_solve(b, torch.triu(a) + 4 * torch.eye(4, dtype=torch.float64)).solution]


def fft_and_special():
    torch.manual_seed(4)
    x = torch.randn(8)
    img = torch.randn(4, 4)
    p = torch.rand(5) * 0.9 + 0.05
    return [torch.fft.fft(x), torch.fft.ifft(torch.fft.fft(x)).real, torch.fft.rfft(x), torch.fft.irfft(torch.fft.rfft(x), n=8),
            torch.fft.fft2(img), torch.fft.fftshift(torch.fft.fftfreq(8)), torch.fft.rfftfreq(8, d=0.5), torch.fft.hfft(x[:5]),
            torch.special.erf(x), torch.special.erfinv(p), torch.special.expit(x), torch.special.logit(p), torch.special.gammaln(p * 10),
            torch.special.digamma(p + 1), torch.special.i0(x), torch.special.xlogy(p, p), torch.special.log_softmax(x, 0),
            torch.special.logsumexp(x, 0), torch.special.bessel_j0(x), torch.special.ndtr(x), torch.special.entr(p),
            torch.special.sinc(x), torch.special.polygamma(1, p + 1), torch.lgamma(p), torch.erfc(x), torch.special.softmax(x, 0)]


def distributions():
    torch.manual_seed(5)
    d = torch.distributions
    x = torch.linspace(-2, 2, 5)
    normal = d.Normal(torch.tensor(0.0), torch.tensor(1.5))
    cat = d.Categorical(probs=torch.tensor([0.1, 0.2, 0.7]))
    mvn = d.MultivariateNormal(torch.zeros(2), covariance_matrix=torch.tensor([[2.0, 0.3], [0.3, 1.0]]))
    return [normal.log_prob(x), normal.cdf(x), normal.entropy(), normal.sample((3,)), normal.rsample((2,)), cat.entropy(),
            cat.log_prob(torch.tensor([0, 2])), cat.sample((4,)), d.Bernoulli(0.3).sample((5,)), d.Uniform(0.0, 2.0).log_prob(torch.tensor(1.0)),
            mvn.log_prob(torch.ones(2)), mvn.sample(), d.kl_divergence(normal, d.Normal(1.0, 1.0)), d.Poisson(3.0).log_prob(torch.tensor(2.0)),
            d.Beta(2.0, 3.0).mean, d.Gamma(2.0, 1.0).log_prob(torch.tensor(1.5)), d.Dirichlet(torch.ones(3)).sample(), d.Exponential(2.0).rsample((2,))]


def functional():
    torch.manual_seed(6)
    x = torch.randn(2, 3, 8, 8)
    seq = torch.randn(2, 5, 4)
    logits = torch.randn(4, 3)
    target = torch.tensor([0, 2, 1, 2])
    w = torch.randn(6, 3, 3, 3)
    return [F.relu(x), F.gelu(x), F.silu(x), F.leaky_relu(x, 0.1), F.elu(x), F.softplus(x), F.softmax(logits, -1),
            F.log_softmax(logits, -1), F.cross_entropy(logits, target), F.nll_loss(F.log_softmax(logits, -1), target),
            F.mse_loss(logits, torch.zeros(4, 3)), F.l1_loss(logits, torch.ones(4, 3)), F.smooth_l1_loss(logits, torch.zeros(4, 3)),
            F.binary_cross_entropy_with_logits(logits, torch.ones(4, 3)), F.kl_div(F.log_softmax(logits, -1), F.softmax(logits.flip(0), -1), reduction="batchmean"),
            F.conv2d(x, w, padding=1), F.conv1d(seq.transpose(1, 2), torch.randn(2, 4, 3)), F.conv_transpose2d(x, w.transpose(0, 1)),
            F.max_pool2d(x, 2), F.avg_pool2d(x, 2), F.adaptive_avg_pool2d(x, 1), F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
            F.interpolate(x, size=(4, 4), mode="nearest"), F.pad(x, (1, 1, 2, 0)), F.one_hot(target, 3), F.normalize(logits, dim=1),
            F.layer_norm(seq, (4,)), F.batch_norm(x, torch.zeros(3), torch.ones(3), training=False), F.group_norm(x, 3),
            F.dropout(x, 0.5, training=False), F.embedding(target, torch.randn(3, 5)), F.embedding_bag(target, torch.randn(3, 5), torch.tensor([0, 2])),
            F.linear(seq, torch.randn(6, 4), torch.randn(6)), F.unfold(x, 3), F.fold(F.unfold(x, 2, stride=2), (8, 8), 2, stride=2),
            F.scaled_dot_product_attention(seq, seq, seq), F.cosine_similarity(logits, logits.flip(0)), F.pairwise_distance(logits, logits.flip(0)),
            F.grid_sample(x, torch.rand(2, 4, 4, 2) * 2 - 1, align_corners=False), F.pixel_shuffle(torch.randn(1, 4, 2, 2), 2),
            F.hardtanh(x), F.glu(logits.repeat(1, 2)), F.triplet_margin_loss(logits, logits.flip(0), logits), F.dropout(x, 0.3, training=True)]


def modules_and_training():
    torch.manual_seed(7)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4 * 4 * 4, 3)
            self.register_buffer("scale", torch.tensor(2.0))

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
            return self.fc(x.flatten(1)) * self.scale

    net = Net()
    x = torch.randn(5, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 1, 0])
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        evaluated = net(x)
    seq = torch.randn(2, 5, 4)
    lstm, gru, rnn = nn.LSTM(4, 3, batch_first=True), nn.GRU(4, 3, batch_first=True), nn.RNN(4, 3)
    enc = nn.TransformerEncoderLayer(d_model=4, nhead=2, dim_feedforward=8, dropout=0.0, batch_first=True)
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    seqmod = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.0), nn.Linear(8, 2))
    emb = nn.Embedding(10, 3, padding_idx=0)
    sgd = torch.optim.SGD(seqmod.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    for _ in range(2):
        sgd.zero_grad()
        seqmod(seq).pow(2).mean().backward()
        sgd.step()
    state = {k: v.clone() for k, v in seqmod.state_dict().items()}
    copy = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.0), nn.Linear(8, 2))
    copy.load_state_dict(state)
    return [losses, evaluated, lstm(seq)[0], lstm(seq)[1][1], gru(seq)[0], rnn(seq)[1], enc(seq), mha(seq, seq, seq)[0],
            copy(seq), emb(torch.tensor([[0, 3], [9, 0]])), nn.LayerNorm(4)(seq), nn.GELU()(seq), nn.Softmax(dim=-1)(seq),
            sum(p.numel() for p in net.parameters()), [n for n, _ in net.named_parameters()], nn.Flatten()(seq),
            nn.functional.mse_loss(copy(seq), seqmod(seq)), nn.Identity()(seq), nn.Conv1d(4, 2, 2)(seq.transpose(1, 2)),
            nn.AdaptiveAvgPool1d(2)(seq), nn.Unflatten(1, (5, 1))(seq[:, :, 0]), nn.ModuleList([nn.ReLU()])[0](seq),
            str(nn.Linear(2, 3)), net.training, nn.init.xavier_uniform_(torch.empty(3, 4)), nn.init.zeros_(torch.empty(2)),
            nn.Parameter(torch.ones(2)).detach()]


def autograd_and_func():
    torch.manual_seed(8)
    x = torch.randn(3, requires_grad=True)

    def f(v):
        return (v.sin() * v).sum()

    y = f(x)
    (gx,) = torch.autograd.grad(y, x, create_graph=True)
    (ggx,) = torch.autograd.grad(gx.sum(), x)
    z = (x ** 3).sum()
    z.backward()
    leaf_grad = x.grad.clone()
    batched = torch.func.vmap(lambda r: (r * r).sum())(torch.randn(4, 3))
    model = nn.Linear(3, 2)
    params = {k: v.detach() for k, v in model.named_parameters()}
    fc = torch.func.functional_call(model, params, (x.detach(),))

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return v * v

        @staticmethod
        def backward(ctx, g):
            (v,) = ctx.saved_tensors
            return 2 * v * g

    s = Square.apply(x)
    s.sum().backward()
    h = x.detach().requires_grad_()
    h.register_hook(lambda g: g * 2)
    (h * 3).sum().backward()
    with torch.no_grad():
        nograd = (x * 2).requires_grad
    with torch.inference_mode():
        inf = (x * 2).sum()
    v = x.detach()
    return [gx, ggx, leaf_grad, torch.func.grad(f)(v), torch.func.jacrev(torch.sin)(v), torch.func.jacfwd(torch.sin)(v),
            torch.func.hessian(f)(v), batched, torch.func.vmap(torch.dot)(torch.randn(2, 3), torch.randn(2, 3)),
            torch.autograd.functional.jacobian(torch.exp, v), torch.autograd.functional.hessian(f, v),
            torch.autograd.functional.vjp(torch.exp, v, torch.ones(3))[1], torch.autograd.functional.jvp(torch.exp, v, torch.ones(3))[1],
            fc, x.grad, h.grad, nograd, inf, torch.func.grad_and_value(f)(v)[1], y.grad_fn.name(),
            torch.autograd.gradcheck(lambda t: (t * t).sum(), torch.randn(3, dtype=torch.float64, requires_grad=True))]


def autocast(a, b):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return a @ b


def sparse_complex_lowp():
    torch.manual_seed(9)
    dense = torch.tensor([[0.0, 2.0, 0.0], [3.0, 0.0, 4.0]])
    sp = dense.to_sparse()
    csr = dense.to_sparse_csr()
    coo = torch.sparse_coo_tensor(torch.tensor([[0, 1], [2, 0]]), torch.tensor([5.0, 6.0]), (2, 3))
    z = torch.complex(torch.randn(4), torch.randn(4))
    b = torch.randn(4, 4).to(torch.bfloat16)
    h = torch.randn(4, 4).half()
    return [torch.sparse.mm(sp, torch.ones(3, 2)), (sp + coo).to_dense(), csr.to_dense(), sp.coalesce().values(), sp.coalesce().indices(),
            torch.sparse.sum(sp, dim=1).to_dense(), (csr @ torch.ones(3, 1)), coo.to_dense().to_sparse().to_dense() * 2,
            z * z.conj(), z.abs(), z.angle(), torch.view_as_real(z), torch.polar(torch.ones(2), torch.tensor([0.0, math.pi / 2])),
            torch.fft.ifft(z), z.real, z.imag, torch.exp(1j * torch.tensor([0.5])), z.to(torch.complex128).sum(),
            b @ b, (b + 1).float(), b.sum(), h + h, (h * 2).float(), h.to(torch.bfloat16), torch.tensor([1.5], dtype=torch.float16).item(),
            torch.finfo(torch.bfloat16).eps, autocast(torch.randn(2, 3), torch.randn(3, 2))]


def compiled():
    def f(x, y):
        return torch.sin(x) * y + x.relu().sum()

    g = torch.compile(f, backend="eager")
    x, y = torch.linspace(-1, 1, 6), torch.linspace(0, 2, 6)
    return [g(x, y), g(x * 2, y), type(torch.compile(nn.Linear(6, 2), backend="eager")).__name__]


GROUPS = [tensors, in_place_and_out, indexing, linear_algebra, fft_and_special, distributions, functional,
          modules_and_training, autograd_and_func, sparse_complex_lowp, compiled]


def solve(group):
    torch.manual_seed(100 + group)
    return GROUPS[group]()
