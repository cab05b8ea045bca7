"Time to build a 256-trial batch of each task (median of repeated runs)."

import timeit

from rnn_pipeline.tasks import TASKS


def batch_time_ms(task, batch_size=256, repeats=20):
    "Median wall time in ms of `task.get_batch(batch_size)`."
    times = timeit.repeat(lambda: task.get_batch(batch_size=batch_size), number=1, repeat=repeats)
    return 1e3 * sorted(times)[len(times) // 2]


if __name__ == '__main__':
    print(f"{'task':<18}{'ms per 256-trial batch':>24}")
    for name, cls in TASKS.items():
        print(f"{name:<18}{batch_time_ms(cls(seed=0)):>24.1f}")
