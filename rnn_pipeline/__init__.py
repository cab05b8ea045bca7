"""rnn_pipeline: train continuous-time RNNs on behavioural tasks and open up their dynamics.

Tasks (`rnn_pipeline.tasks`) make trials of inputs, targets and loss masks; `RNN_pytorch`
(`rnn_pipeline.rnn`) is trained on them by the `Trainer` (`rnn_pipeline.trainer`), and its NumPy
twin `RNN_numpy` is analysed: behaviour (`rnn_pipeline.performance`), fixed points, slow points,
line and ring attractors (`rnn_pipeline.dynamics`). Runs are described by configs
(`rnn_pipeline.config`), trained and saved by `rnn_pipeline.runs`, swept by `rnn_pipeline.sweep`,
and driven from the `rnn-pipeline` command line. `help()` on any public function or class lists
its parameters.
"""

__version__ = "0.1.0"
