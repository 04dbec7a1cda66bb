"""Results folders (rules in docs/results.md).

* :mod:`simsme.results.folder`: a results folder's marker, lock and owned files, and the one
  atomic-write helper every file of simsme goes through;
* :mod:`simsme.results.fingerprint`: the code fingerprint and structured folder keys;
* :mod:`simsme.results.chunks`: resumable chunked tables (``.chunks/``);
* :mod:`simsme.results.summary`: headline figures with confidence intervals.
"""
