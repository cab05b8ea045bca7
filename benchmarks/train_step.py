"""Milliseconds per training step (forward, backward, Adam) of the CTRNN time loop, implementation by implementation.

Batch 256, 300 steps, relu. `fast` is what `RNN_pytorch.forward` uses (`CTRNNFunction`, a hand-written backward
through time); `eager` is a plain autograd loop (states kept in a list, one Linear call per step); `original` is
the original pipeline's loop (states grown by torch.cat every step); `script` is the eager loop under
TorchScript. The recurrent GFLOP/s counts the recurrent products only (forward, backward and weight gradient:
3 x 2 B N^2 flops per step), and the ceiling is the best GFLOP/s of one large matrix product on this machine.
Run: python benchmarks/train_step.py [--sizes 50 100 250] [--repeats 5]
"""
import argparse, time

import torch

from rnn_pipeline.rnn import RNN_pytorch, input_drive

T, B, N_IN, N_OUT = 300, 256, 6, 2

class EagerLoop(torch.nn.Module):
    "The plain autograd loop: one Linear per step, states in a list."
    def __init__(self, rnn):
        super().__init__()
        self.rec = torch.nn.Linear(rnn.N, rnn.N, bias=False); self.rec.weight = rnn.W_rec
        self.rnn = rnn
    def forward(self, drive):
        x, xs, alpha = self.rnn.y_init.expand(drive.shape[1], -1), [], self.rnn.alpha
        for d in drive.unbind(0):
            x = x + alpha * (-x + torch.relu(self.rec(x) + d)); xs.append(x)
        return torch.stack(xs)

class OriginalLoop(EagerLoop):
    "The original pipeline's loop: the state history grown by torch.cat at every step."
    def forward(self, drive):
        x, alpha = self.rnn.y_init.expand(drive.shape[1], -1), self.rnn.alpha
        states = x.unsqueeze(0)
        for t in range(drive.shape[0]):
            x = x + alpha * (-x + torch.relu(x @ self.rnn.W_rec.T + drive[t]))
            states = torch.cat((states, x.unsqueeze(0)), 0)
        return states[1:]

@torch.jit.script
def scripted_loop(drive: torch.Tensor, x: torch.Tensor, W_rec: torch.Tensor, alpha: float) -> torch.Tensor:
    xs = []
    for d in drive.unbind(0):
        x = x + alpha * (-x + torch.relu(x @ W_rec.t() + d)); xs.append(x)
    return torch.stack(xs)

def make_step(rnn, loop):
    "One training step (forward with noise, masked MSE, backward, Adam) with the time loop `loop`."
    opt = torch.optim.Adam(rnn.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    u, target = torch.rand(T, B, N_IN, generator=g), torch.rand(T, B, N_OUT, generator=g)
    def step():
        noise = torch.randn(T, B, rnn.N, generator=g).mul_(0.1)
        drive = input_drive(u, rnn.W_inp, rnn.bias_rec, 0., noise)
        states = loop(drive)
        loss = ((states @ rnn.W_out.T - target) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    return step

def loops(rnn):
    "The time-loop implementations to compare, by name."
    x0 = lambda drive: rnn.y_init.expand(drive.shape[1], -1)
    from rnn_pipeline.rnn import CTRNNFunction
    return {'fast': lambda d: CTRNNFunction.apply(d, x0(d), rnn.W_rec, rnn.alpha, rnn.activation),
            'script': lambda d: scripted_loop(d, x0(d), rnn.W_rec, rnn.alpha),
            'eager': EagerLoop(rnn), 'original': OriginalLoop(rnn)}

def ms_per_step(step, repeats):
    "Median milliseconds of `step` after one warm-up call."
    step(); times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
    return 1e3 * sorted(times)[len(times) // 2]

def matmul_ceiling_gflops(n=1024, repeats=10):
    "Best GFLOP/s of an n x n float32 matrix product: the machine's ceiling."
    a, b = torch.rand(n, n), torch.rand(n, n)
    best = min(ms_per_step(lambda: a @ b, repeats) for _ in range(3))
    return 2 * n**3 / (best * 1e-3) / 1e9

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[50, 100, 250])
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    ceiling = matmul_ceiling_gflops()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; matmul ceiling {ceiling:.1f} GFLOP/s")
    print(f"{'N':>5} {'variant':>9} {'ms/step':>9} {'GFLOP/s':>9} {'% ceiling':>10} {'vs eager':>9} {'vs original':>12}")
    for N in args.sizes:
        rnn = RNN_pytorch(N, 'relu', input_size=N_IN, output_size=N_OUT, seed=0, device='cpu')
        times = {name: ms_per_step(make_step(rnn, loop), args.repeats) for name, loop in loops(rnn).items()}
        for name, ms in times.items():
            gflops = 3 * 2 * B * N**2 * T / (ms * 1e-3) / 1e9
            print(f"{N:>5} {name:>9} {ms:>9.1f} {gflops:>9.2f} {100 * gflops / ceiling:>9.1f}% "
                  f"{times['eager'] / ms:>8.2f}x {times['original'] / ms:>11.2f}x")
