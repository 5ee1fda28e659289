"""The local stack: the real Lambda handlers, served on 127.0.0.1.

``python -m theeye_local`` (what ``make run`` runs) reads ``template.yaml`` and nothing else:
routes, tables, queues, event sources and function environments all come from it, so a
resource added to the template appears locally without a change here. The functions store in
one SQLite file (the embedded backend, the default) or in moto's emulated AWS
(``THEEYE_BACKEND=moto``).

docs/ARCHITECTURE.md maps its modules, one line each (a test holds the map to this folder).
This package is development tooling; it never ships to Lambda (``functions/`` does). Besides
the stack it holds ``launcher`` (``python -m theeye_local`` as a subprocess, for the end-to-end
tests, the benchmarks and the chaos and fuzz tools) and ``memory`` (the in-memory backend of the
unit and contract tests and ``bench.cpu``).
"""
