"""Milliseconds per explorer update for the shipped N = 100 flip-flop network (goal: under 200 ms a move).

A FixedPointExplorer slider move follows every fixed point to the new input by continuation (Newton from
the old points, the input step halved where a point stops converging), classifies them and looks for new
points from states of the task's trials, then redraws. A move across a fold (points vanish) locates the
folds where the lost points meet in pairs (Newton on the fold, all pairs at once) and checks the points
left from the trials' states, as a move without a fold does; on the way back each pair is born again in
the fold where it vanished, followed from where it was last found. Points born in a fold the explorer
has not seen (an explorer that starts at 0.3 and moves to 0) call for a search afresh: it blocks the move
in a script, and runs in a background thread in a Jupyter kernel (`background=True`), the move showing
the points found so far at once. A TrialExplorer update runs one trial and redraws. Each slider moves
in small steps, as a user dragging it.
Run: python benchmarks/widgets.py [--moves 20]
Prints a table and writes benchmarks/results/widgets.json.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from rnn_pipeline.examples import load_example
from rnn_pipeline.widgets import FixedPointExplorer, TrialExplorer, step_fixed_points

sys.path.insert(0, str(Path(__file__).resolve().parent))


def continuation_steps(explorer, moves):
    "Seconds of `step_fixed_points` alone for `moves` small steps of input 2 from zero."
    u, times = explorer.result.input_vector, []
    X = explorer.result.points
    for v in np.linspace(0, 0.04, moves + 1)[1:]:
        u1 = u.copy()
        u1[2] = v
        start = clock()
        X, arrived, _ = step_fixed_points(explorer.rnn, X, u, u1)
        times.append(clock() - start)
        assert arrived.all(), 'a point was lost where none should be'
        u = u1
    return times


def slider_moves(explorer, slider, values):
    "Seconds of each update while `slider` takes `values`, by how the update found its points."
    by_kind = {}
    for v in values:
        explorer._holding = True  # one update per move, timed here
        slider.value = float(v)
        explorer._holding = False
        start = clock()
        explorer.update()
        by_kind.setdefault(explorer.how, []).append(clock() - start)
    return by_kind


def unseen_births(ex, background, values):
    "Seconds of each move on which points are born in folds not seen, and of the searches behind."
    explorer = FixedPointExplorer(
        ex.rnn_numpy, ex.task, input_vector=[values[0], 0, 0], background=background
    )
    moves, searches = [], []
    for v in values[1:]:
        explorer._holding = True
        explorer.sliders[0].value = float(v)
        explorer._holding = False
        start = clock()
        explorer.update()
        if explorer.how != 'followed':
            moves.append(clock() - start)
            explorer.wait()
            searches.append(clock() - start)
    return moves, searches, len(explorer.result)


def fresh_searches(explorer, n):
    "Seconds of `n` searches from scratch (the button) of the sliders' input."
    times = []
    for _ in range(n):
        start = clock()
        explorer.search()
        times.append(clock() - start)
    return times


def trial_updates(moves):
    "Seconds of each TrialExplorer update while the trial seed changes."
    ex = load_example('flipflop3')
    explorer = TrialExplorer(ex.rnn_numpy, ex.task)
    control = explorer.controls['seed']
    times = []
    for value in range(moves):
        start = clock()
        control.value = (value + 1) % (control.max + 1)
        times.append(clock() - start)
    return times


def clock():
    "Wall-clock and CPU seconds of this process, as an array (differences of two are both)."
    return np.array([time.perf_counter(), time.process_time()])


def row(name, n_points, times):
    "A table row: wall-clock median, 90th percentile and maximum, then the CPU time's median, in ms."
    wall, cpu = sorted(1e3 * t[0] for t in times), sorted(1e3 * t[1] for t in times)
    return [
        name,
        n_points,
        len(wall),
        round(statistics.median(wall), 1),
        round(wall[int(0.9 * (len(wall) - 1))], 1),
        round(wall[-1], 1),
        round(statistics.median(cpu), 1),
    ]


def machine():
    import torch

    return (
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} thread(s)"
    )


def write(tables, notes):
    "benchmarks/results/widgets.json, through benchmarks/_results.py where it exists."
    title = 'Explorer updates at N = 100'
    try:
        from _results import table, write_results
    except ImportError:
        path = Path(__file__).resolve().parent / 'results' / 'widgets.json'
        path.parent.mkdir(exist_ok=True)
        doc = dict(
            benchmark='widgets',
            title=title,
            machine=machine(),
            date=datetime.date.today().isoformat(),
            tables=[dict(caption=c, columns=cols, rows=rows) for c, cols, rows in tables],
            notes=notes,
        )
        path.write_text(json.dumps(doc, indent=1) + '\n')
        return path
    return write_results('widgets', title, [table(*t) for t in tables], notes=notes)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--moves', type=int, default=20)
    args = parser.parse_args()
    ex = load_example('flipflop3')
    explorer = FixedPointExplorer(ex.rnn_numpy, ex.task, input_vector=np.zeros(3))
    n = len(explorer.result)
    rows = [
        row(
            'continuation step alone (step_fixed_points)',
            n,
            continuation_steps(explorer, args.moves),
        )
    ]
    moves = slider_moves(explorer, explorer.sliders[2], np.linspace(0, 0.04, args.moves + 1)[1:])
    rows.append(row('slider move, points followed', n, moves.pop('followed')))
    explorer.search()
    across = slider_moves(explorer, explorer.sliders[0], np.linspace(0, 0.3, 7)[1:])
    for how, times in moves.items():  # a point found from the trials' states, not followed
        rows.append(row(f'slider move, {how}', n, times))
    n_after = len(explorer.result)
    back = slider_moves(explorer, explorer.sliders[0], np.linspace(0.3, 0, 7)[1:])
    labels = {'followed': 'slider move after folds'}
    for how, times in across.items():
        label = labels.get(how, 'slider move across folds (points vanish)')
        rows.append(row(label, f'{n} -> {n_after}', times))
    for how, times in back.items():
        label = labels.get(how, 'slider move across folds (points born again)')
        rows.append(row(f'back: {label}', f'{n_after} -> {len(explorer.result)}', times))
    path = np.linspace(0.3, 0, 7)
    moves, searches, n_end = unseen_births(ex, False, path)
    rows.append(row('points born in folds not seen: move and search', f'9 -> {n_end}', moves))
    moves, searches, n_end = unseen_births(ex, True, path)
    rows.append(row('the same, background=True: move shown', f'9 -> {n_end}', moves))
    rows.append(row('  background=True: until its search is shown', f'9 -> {n_end}', searches))
    explorer.sliders[0].value = 0.0
    rows.append(
        row('search from scratch (button)', len(explorer.result), fresh_searches(explorer, 5))
    )
    rows.append(row('TrialExplorer update (one trial, redraw)', '', trial_updates(args.moves)))
    columns = ['update', 'fixed points', 'updates', 'median ms', '90th pct ms', 'max ms', 'CPU ms']
    widths = [48, 13, 8, 10, 12, 8, 7]
    print(' '.join(f'{c:<{w}}' for c, w in zip(columns, widths)))
    for r in rows:
        print(' '.join(f'{str(v):<{w}}' for v, w in zip(r, widths)))
    load = os.getloadavg()
    notes = [
        f"flipflop3 example (N = 100, 3 inputs), {args.moves} slider moves of 0.002 on input 2 (no "
        "bifurcation), then input 0 from 0 to 0.3 in steps of 0.05 (memories and saddles meet in "
        "folds) and back.",
        "Goal: a slider move under 200 ms, across folds too: the points lost in pairs are located on "
        "their folds (locate_folds), the pairs born again followed from where they were last found, and "
        "the rest checked from the trials' states. Points born in folds not seen (an explorer started "
        "at 0.3, moved to 0 in the same steps) call for a search: in a script the move waits for it; "
        "with background=True (a Jupyter kernel's default) the move shows at once what it found, and "
        "the search's points follow when it ends.",
        f"Load average while it ran: {load[0]:.1f} (1 min) on {os.cpu_count()} CPUs: wall-clock times "
        "(median, 90th percentile, max) are those of a shared machine; 'CPU ms' is the median CPU time "
        "of this process per update, what a free core would take.",
        "An update's largest part is the classification (eigenvalues of every point's Jacobian).",
    ]
    for note in notes:
        print(note)
    print(f"wrote {write([('Milliseconds per update', columns, rows)], notes)}")
