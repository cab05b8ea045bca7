"""Train the shipped example networks from their recorded configs and write them into the package.

Run: python scripts/make_examples.py [NAME ...]   (all examples when no name is given)
"""
import sys

from rnn_pipeline.examples import EXAMPLE_CONFIGS, save_example, train_example

if __name__ == '__main__':
    for name in sys.argv[1:] or EXAMPLE_CONFIGS:
        params, record = train_example(name, progress=True)
        save_example(name, params, record)
        print(name, record, flush=True)
