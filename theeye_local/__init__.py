"""The local stack: the real Lambda handlers, served on 127.0.0.1 against moto.

``python -m theeye_local`` (what ``make run`` runs) reads ``template.yaml`` and nothing else:
routes, tables, queues, event sources and function environments all come from it, so a
resource added to the template appears locally without a change here.

Modules, in the order the stack uses them:

* ``template``   - YAML with CloudFormation short tags; SAM ``Globals`` merging.
* ``intrinsics`` - ``Ref``/``Fn::*`` resolved for the local world (names, ARNs, URLs).
* ``resources``  - creates every table, queue and secret of the template in a boto3 session.
* ``lambdas``    - what each ``AWS::Serverless::Function`` needs to run: handler, env, events.
* ``embedded_aws`` - moto in server mode on 127.0.0.1.
* ``worker`` / ``pool`` - one process per concurrent invocation, like Lambda's sandboxes.
* ``routes`` / ``apigw`` / ``http_front`` - the API Gateway HTTP API (payload format 2.0).
* ``poller``     - the SQS event source mapping.
* ``keys`` / ``state`` / ``stack`` / ``cli`` - keys, ``.theeye/local.json``, lifecycle.

This package is development tooling; it never ships to Lambda (``functions/`` does). Besides
the stack it holds ``launcher`` (``python -m theeye_local`` as a subprocess, for the end-to-end
tests, the benchmarks and the chaos and fuzz tools) and ``memory`` (the in-memory backend of the
unit and contract tests and ``bench.cpu``).
"""
