"""Train the shipped example networks from their recorded configs and write them into the package.

Run: python scripts/make_examples.py [NAME ...]   (all examples when no name is given)
"""

import sys
from tempfile import TemporaryDirectory

from rnn_pipeline.examples import EXAMPLE_CONFIGS, save_example
from rnn_pipeline.runs import example_record, train_example

if __name__ == '__main__':
    with TemporaryDirectory() as runs:
        for name in sys.argv[1:] or EXAMPLE_CONFIGS:
            run = train_example(name, runs, progress=True)
            record = example_record(run)
            save_example(name, run.params, record)
            print(name, record, flush=True)
