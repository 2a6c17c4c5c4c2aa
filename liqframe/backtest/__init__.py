"""Backtests: strategies run in a model market or against an event feed, offline.

- :mod:`liqframe.backtest.avellaneda`: the Avellaneda–Stoikov (2008) experiment, a Brownian
  mid with fills of intensity ``A·exp(-k·δ)``, vectorised over paths.
- :mod:`liqframe.backtest.glft`: the Guéant–Lehalle–Fernandez-Tapia (2013) closed-form quotes.
- :mod:`liqframe.backtest.queue`: a queue-position fill backtest over an array of book events,
  with latency and a conservative or probabilistic queue model (the replay is the core module
  ``backtest``, compiled or its pure twin); PnL split, inventory, fill rates and markouts.
- :mod:`liqframe.backtest.feeds`: event arrays, synthetic or from a LOBSTER recording.
- :mod:`liqframe.backtest.report`: a run's results into SQLite and an HTML (inline SVG) plot.
"""
