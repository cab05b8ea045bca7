"""Milliseconds per training step (forward, backward, Adam) of a CTRNN, implementation by implementation.

Batch 256, 300 steps, relu, noise on. Every variant draws its noise, runs the time loop, projects the outputs,
takes an MSE-plus-rate loss (the mean squared output error plus 0.01 x the mean squared state), backpropagates and
takes an Adam step, as the Trainer does:
- `fast`: what the Trainer runs, `RNN_pytorch.forward(..., with_rate=True)` (`CTRNNFunction`, a hand-written
  backward through time, which returns the outputs and the mean squared state with the states);
- `eager`: a plain autograd loop (input projection for all steps first, states kept in a list, one Linear call
  per step);
- `script`: the same loop compiled by TorchScript;
- `original`: the original pipeline's loop (the state history grown by torch.cat at every step).
- `compile` (only with --compile): the eager loop under torch.compile, which takes minutes to compile per shape.
Each variant is timed in a fresh process, as one training runs: in a shared process the large buffers of one variant
change how the C allocator serves the next one (the eager loop's step time doubled after the fast path's, from page
faults).
The recurrent GFLOP/s counts the recurrent products only (forward, backward and weight gradient: 3 x 2 B N^2
flops per step); the ceiling is the best GFLOP/s of one large float32 matrix product on this machine.
Run: python benchmarks/train_step.py [--sizes 50 100 250] [--rounds 7] [--threads 1 2] [--compile]

With --options: the Trainer's step (batch loss, backward, frozen gradients zeroed, Adam, constraints, schedule)
on the CDDM example config (`default_config('CDDM')`: batch 128, 600 steps) at N=100,
one thread, with each training option of the PsychRNN family on against all off, in one process, the variants
interleaved round by round (so that a drift of the machine's speed hits them alike).
Run: python benchmarks/train_step.py --options [--rounds 15]
"""

import argparse, multiprocessing, statistics, time
from concurrent.futures import ProcessPoolExecutor

import torch
from _results import write_results

from rnn_pipeline.rnn import RNN_pytorch, input_drive, noise_scale

T, B, N_IN, N_OUT = 300, 256, 6, 2


class EagerLoop(torch.nn.Module):
    "The plain autograd loop: states in a list, one Linear call per step."

    def __init__(self, rnn):
        super().__init__()
        self.rnn, self.rec = rnn, torch.nn.Linear(rnn.N, rnn.N, bias=False)
        self.rec.weight = rnn.W_rec

    def forward(self, drive):
        x, xs, alpha = self.rnn.y_init.expand(drive.shape[1], -1), [], self.rnn.alpha
        for d in drive.unbind(0):
            x = x + alpha * (-x + torch.relu(self.rec(x) + d))
            xs.append(x)
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
def scripted_loop(
    drive: torch.Tensor, x: torch.Tensor, W_rec: torch.Tensor, alpha: float
) -> torch.Tensor:
    xs = []
    for d in drive.unbind(0):
        x = x + alpha * (-x + torch.relu(x @ W_rec.t() + d))
        xs.append(x)
    return torch.stack(xs)


def with_outputs_and_rate(rnn, loop):
    "A (T, B, n_inputs) -> (outputs, mean squared state) function from a (T, B, n_inputs) -> (T, B, N) states one."

    def run(u):
        states = loop(u)
        return states @ rnn.W_out.T, states.pow(2).mean()

    return run


def fast(rnn):
    "(T, B, n_inputs) inputs -> (outputs, mean squared state) from `RNN_pytorch.forward`, as the Trainer calls it."

    def run(u):
        _, outputs, rate = rnn(u.permute(2, 0, 1), with_rate=True)
        return outputs.permute(1, 2, 0), rate

    return run


def loss_fns(rnn, with_compile=False):
    "Functions (T, B, n_inputs) inputs -> (outputs, mean squared state) from noisy runs, one per implementation."

    def drive(u):
        noise = torch.randn(T, B, rnn.N, generator=rnn.generator).mul_(
            noise_scale(rnn.sigma_rec, rnn.alpha)
        )
        return input_drive(u, rnn.W_inp, rnn.bias_rec, 0.0, noise)

    eager, original = EagerLoop(rnn), OriginalLoop(rnn)
    loops = {
        'eager': lambda u: eager(drive(u)),
        'script': lambda u: scripted_loop(drive(u), rnn.y_init.expand(B, -1), rnn.W_rec, rnn.alpha),
        'original': lambda u: original(drive(u)),
    }
    if with_compile:
        loops['compile'] = lambda u, loop=torch.compile(EagerLoop(rnn)): loop(drive(u))
    return {'fast': fast(rnn)} | {
        name: with_outputs_and_rate(rnn, loop) for name, loop in loops.items()
    }


def make_step(rnn, run):
    "One training step with `run`, a function of `loss_fns`."
    opt = torch.optim.Adam(rnn.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    u, target = torch.rand(T, B, N_IN, generator=g), torch.rand(T, B, N_OUT, generator=g)

    def step():
        outputs, rate = run(u)
        loss = ((outputs - target) ** 2).mean() + 0.01 * rate
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def timed(fn):
    "Wall time of one call of `fn`, in ms."
    t0 = time.perf_counter()
    fn()
    return 1e3 * (time.perf_counter() - t0)


def matmul_ceiling_gflops(n=1024, repeats=10):
    "Best GFLOP/s of an n x n float32 matrix product on this machine."
    a, b = torch.rand(n, n), torch.rand(n, n)
    return 2 * n**3 / (min(timed(lambda: a @ b) for _ in range(repeats)) * 1e-3) / 1e9


def time_variant(name, N, threads, rounds):
    "Median ms per step of the variant `name` for N units, timed in this process."
    torch.set_num_threads(threads)
    rnn = RNN_pytorch(
        N, 'relu', input_size=N_IN, output_size=N_OUT, seed=0, device='cpu', sigma_inp=0.0
    )
    step = make_step(rnn, loss_fns(rnn, with_compile=name == 'compile')[name])
    step()
    return statistics.median(timed(step) for _ in range(rounds))


def benchmark(N, threads, rounds, with_compile=False):
    "Median ms per step of each implementation for N units, each in a fresh process (as one training would run)."
    names = ['fast', 'eager', 'script', 'original'] + (['compile'] if with_compile else [])
    return {name: in_fresh_process(time_variant, name, N, threads, rounds) for name in names}


def in_fresh_process(fn, *args):
    "fn(*args), run in a new Python process."
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn')) as pool:
        return pool.submit(fn, *args).result()


OPTIONS = {
    'all off': {},
    'output_bias': dict(output_bias=True),
    'train_x0': dict(train_x0=True),
    'input_mask': dict(input_mask=[[i % 2 for i in range(6)]] * 100),
    'output_mask': dict(output_mask=[[i % 2 for i in range(100)]] * 2),
    'freeze_rec (half)': dict(freeze_rec=[[i % 2 for i in range(100)]] * 100),
    'l1 + l2 (all 3)': {f'{n}_{m}': 1e-4 for n in ('l1', 'l2') for m in ('inp', 'rec', 'out')},
    'lr_schedule step': dict(lr_schedule='step'),
    'lr_schedule cosine': dict(lr_schedule='cosine'),
    'lr_schedule plateau': dict(lr_schedule='plateau'),
}


def option_steps(rounds):
    "Median ms per Trainer step of each option on (CDDM, N=100), interleaved round by round."
    import warnings

    from rnn_pipeline.config import default_config
    from rnn_pipeline.runs import prepare_run, trainer_settings
    from rnn_pipeline.trainer import Trainer, _start, _step

    torch.set_num_threads(1)
    steps = {}
    for name, options in OPTIONS.items():
        config, task, rnn = prepare_run(
            {**default_config('CDDM'), 'N': 100, 'seed': 0, **options}, device='cpu'
        )
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            trainer = Trainer(rnn, task, progress=False, **trainer_settings(config))
        _start(trainer)
        batch = task.get_batch(trainer.batch_size)
        mask = trainer._batch_mask(batch[2])
        steps[name] = lambda t=trainer, b=batch, m=mask: _step(t, b, m)
        steps[name]()  # warm up
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(timed(step))
    return {name: statistics.median(t) for name, t in times.items()}


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[50, 100, 250])
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument(
        '--compile', action='store_true', help='also time the eager loop under torch.compile'
    )
    parser.add_argument(
        '--options', action='store_true', help="time the Trainer's step with each option on"
    )
    args = parser.parse_args()
    if args.options:
        times = option_steps(args.rounds)
        print(f"torch {torch.__version__}; Trainer step, CDDM N=100, 1 thread, median of {args.rounds}")
        print(f"{'option':>20} {'ms/step':>9} {'vs all off':>11}")
        for name, ms in times.items():
            print(f"{name:>20} {ms:>9.1f} {ms / times['all off']:>10.2f}x")
        raise SystemExit
    print(f"torch {torch.__version__}; batch {B}, {T} steps, median of {args.rounds} rounds")
    tables = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        ceiling = matmul_ceiling_gflops()
        print(f"\n{threads} thread(s): matmul ceiling {ceiling:.1f} GFLOP/s")
        print(
            f"{'N':>5} {'variant':>9} {'ms/step':>9} {'GFLOP/s':>9} {'% ceiling':>10} {'vs eager':>9} {'vs original':>12}"
        )
        rows = []
        for N in args.sizes:
            times = benchmark(N, threads, args.rounds, args.compile)
            for name, ms in times.items():
                gflops = 3 * 2 * B * N**2 * T / (ms * 1e-3) / 1e9
                rows.append(
                    [
                        N,
                        name,
                        round(ms, 2),
                        round(gflops, 2),
                        round(100 * gflops / ceiling, 1),
                        round(times['eager'] / ms, 2),
                        round(times['original'] / ms, 2),
                    ]
                )
                print(
                    f"{N:>5} {name:>9} {ms:>9.1f} {gflops:>9.2f} {100 * gflops / ceiling:>9.1f}% "
                    f"{times['eager'] / ms:>8.2f}x {times['original'] / ms:>11.2f}x",
                    flush=True,
                )
        tables.append(
            (
                f'{threads} thread(s), batch {B}, {T} steps, median of {args.rounds} rounds '
                f'(matmul ceiling {ceiling:.1f} GFLOP/s)',
                ['N', 'variant', 'ms/step', 'GFLOP/s', '% ceiling', 'vs eager', 'vs original'],
                rows,
            )
        )
    write_results(
        'train_step',
        'Milliseconds per training step, implementation by implementation',
        tables,
        notes=[
            'GFLOP/s counts the recurrent products only (3 x 2 B N^2 flops per step)',
            'each variant is timed in a fresh process, as one training runs',
        ],
    )
