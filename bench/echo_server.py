"""The baseline for bench_intake: a bare twisted.web server that parses a JSON body and echoes it.

Same reactor, same HTTP stack, same load generator as the intake service: the ratio between the
two is what the intake pipeline (validation, classification, one transaction) costs.
"""
from __future__ import annotations

import json
import sys

from twisted.internet import reactor
from twisted.web import resource, server


class Echo(resource.Resource):
    """POST anything JSON: answered with the parsed object."""

    isLeaf = True

    def render_POST(self, request):
        data = json.loads(request.content.read().decode("utf-8"))
        request.setHeader(b"Content-Type", b"application/json; charset=utf-8")
        request.setResponseCode(201)
        return json.dumps({"echo": data}, ensure_ascii=False).encode("utf-8")


def main() -> None:
    """Listen on 127.0.0.1:PORT (argv[1], 0 = any) and print the port."""
    port = reactor.listenTCP(int(sys.argv[1]) if len(sys.argv) > 1 else 0, server.Site(Echo()), interface="127.0.0.1")
    print(f"serving http://127.0.0.1:{port.getHost().port}/", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
