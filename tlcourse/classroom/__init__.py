"""Classroom kit: student copies, submissions, a gradebook and a class report with item analysis.

Nothing here needs a server: learners submit one JSON file each, the instructor collects them
into SQLite and writes an HTML report that opens offline.
"""
