"""Batch jobs: many files, one question each, run by the turn core in the background (issue 15).

records.py (what a job is), runner.py (the workers), service.py (the owner-scoped facade the page
and the API use), fields.py (JSON out of answers), exports.py (CSV and JSONL). The store side is
app/store/jobs.py. Nothing is imported here, so the store can import the records without a cycle.
"""
