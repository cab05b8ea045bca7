"Time to build a 256-trial batch of each task (median of repeated runs)."

import timeit

from _results import write_results

from rnn_pipeline.tasks import TASKS


def batch_time_ms(task, batch_size=256, repeats=20):
    "Median wall time in ms of `task.get_batch(batch_size)`."
    times = timeit.repeat(lambda: task.get_batch(batch_size=batch_size), number=1, repeat=repeats)
    return 1e3 * sorted(times)[len(times) // 2]


if __name__ == '__main__':
    print(f"{'task':<18}{'ms per 256-trial batch':>24}")
    rows = []
    for name, cls in TASKS.items():
        rows.append([name, round(batch_time_ms(cls(seed=0)), 2)])
        print(f"{name:<18}{rows[-1][1]:>24.1f}")
    write_results(
        'tasks',
        'Time to build a batch of 256 trials',
        [('Median of 20 builds', ['task', 'ms per 256-trial batch'], rows)],
    )
