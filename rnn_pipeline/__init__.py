"""Train continuous-time RNNs on behavioural tasks and open up their dynamics: fixed points, slow points, line and ring attractors.

Modules:

- `rnn_pipeline.widgets`: Sliders that move a network's input and follow its fixed points by continuation, and controls for a task's conditions that redraw the network's behaviour."""

__version__ = "0.1.0"
