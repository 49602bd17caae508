"""Launch moto's server for Steward's tests and local stack.

Usage: python3 moto_server.py --port PORT

It differs from the plain `moto_server` command in three ways:

* The Step Functions engine really executes state machines
  (stepfunctions.execute_state_machine) and Lambda tasks never use Docker
  (lambda.use_docker=false): a task takes the next queued result POSTed to
  /moto-api/static/lambda-simple/response, or echoes its payload.
* moto 5.2.1 answers every StartExecution after the first with a 500
  "cannot pickle '_thread.RLock' object": StartExecution deep-copies the
  state machine, which holds its executions (with their threads) and the
  backend. StateMachineInstance.__deepcopy__ is replaced by the one later
  moto releases ship: copy every attribute deeply except `executions` (the
  copy starts with none) and `backend` (shared).
* It binds 127.0.0.1 only and sets MOTO_PORT to the port it serves, because
  the engine calls its own Lambda API at localhost:$MOTO_PORT.

It is started by github.com/stewardhq/steward/infra/emulator (StartMoto).
"""

import argparse
import copy
import os
import sys

EXIT_MISSING_MOTO = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port to serve on 127.0.0.1")
    args = parser.parse_args()

    configured = os.environ.get("MOTO_PORT")
    if configured and configured != str(args.port):
        print(
            f"moto_server.py: MOTO_PORT={configured} differs from --port {args.port}; "
            "moto's Step Functions engine would call the wrong server. Unset MOTO_PORT.",
            file=sys.stderr,
        )
        sys.exit(2)
    os.environ["MOTO_PORT"] = str(args.port)

    try:
        import moto
        import moto.core.config
        import moto.server
        import moto.stepfunctions.models
    except ImportError as err:
        print(
            f"moto_server.py: cannot import moto with {sys.executable}: {err}. "
            "Install it with: python3 -m pip install 'moto[server]==5.2.1'",
            file=sys.stderr,
        )
        sys.exit(EXIT_MISSING_MOTO)

    moto.core.config.default_user_config["stepfunctions"] = {"execute_state_machine": True}
    moto.core.config.default_user_config["lambda"] = {"use_docker": False}

    def state_machine_deepcopy(self, memo):
        cls = self.__class__
        clone = cls.__new__(cls)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            if key == "executions":
                setattr(clone, key, [])
            elif key == "backend":
                setattr(clone, key, value)
            else:
                setattr(clone, key, copy.deepcopy(value, memo))
        return clone

    moto.stepfunctions.models.StateMachineInstance.__deepcopy__ = state_machine_deepcopy

    print(f"moto_server.py: moto {moto.__version__} on 127.0.0.1:{args.port}", flush=True)
    moto.server.main(["--host", "127.0.0.1", "--port", str(args.port)])


if __name__ == "__main__":
    main()
