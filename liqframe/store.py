"""Persistence in one SQLite file through sqlite-utils.

Every run of the host is a row of ``runs`` with the exact configuration it used, so any
result in the file can be traced to the settings that produced it.
"""

import time

import sqlite_utils


class Store:
    """The host's SQLite file. Writes are committed as they happen: a crash loses nothing
    that was written before it."""

    def __init__(self, path):
        self.path = str(path)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db["runs"].create({"id": int, "started_ns": int, "ended_ns": int, "config": str,
                                "status": str}, pk="id", if_not_exists=True)

    def start_run(self, config_text):
        table = self.db["runs"]
        table.insert({"started_ns": time.time_ns(), "ended_ns": None, "config": config_text,
                      "status": "running"})
        return table.last_pk

    def end_run(self, run_id, status):
        self.db["runs"].update(run_id, {"ended_ns": time.time_ns(), "status": status})

    def close(self):
        self.db.close()
