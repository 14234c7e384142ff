"""moto's server on 127.0.0.1 for the live-AWS tests (tests/integration/util/aws.rs).

Binds a free port, prints it on stdout, and serves until its standard input closes: the test
process holds the other end, so the server goes when the test process does, however it ends.
Usage: python moto_server.py (from the venv that .ci/deps-aws made).
"""

import sys

from moto.server import ThreadedMotoServer


def main():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port  # the port the OS gave for port 0
    print(port, flush=True)
    sys.stdin.read()  # returns at EOF: the test process has exited
    server.stop()


if __name__ == "__main__":
    main()
