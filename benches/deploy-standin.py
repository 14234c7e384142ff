"""An ECS endpoint on 127.0.0.1 for benches/deploy.sh: N services in cluster "bench", each
running task definition svcNNN:1, whose deployments fail or succeed as the bench asks.

Answers (awsJson 1.1, shapes from the ECS API reference) DescribeServices,
DescribeTaskDefinition, RegisterTaskDefinition, UpdateService, ListServiceDeployments,
DescribeServiceDeployments, DescribeServiceRevisions, ListTasks, DescribeTasks. Every request is
logged as a JSON line (time, operation) to LOG; a deployment that fails logs when it was marked
failed ("failed_at").

Usage: python3 deploy-standin.py PORT_FILE LOG SERVICES MODE
  MODE fail:SECONDS     every deployment is marked FAILED (circuit breaker) SECONDS after its
                        UpdateService
  MODE polls:N          every deployment is IN_PROGRESS for N DescribeServices polls, then done
  MODE ...,legacy       the service deployment calls answer UnknownOperationException
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_path, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
legacy = mode.endswith(",legacy")
kind, _, arg = mode.split(",")[0].partition(":")
ACCOUNT, REGION, CLUSTER = "123456789012", "us-west-2", "bench"
lock = threading.Lock()
log = open(log_path, "a", buffering=1)
names = [f"svc{i:03}" for i in range(count)]
# name -> {"td": arn, "images": {container: image}, "updated": time or None, "polls": n, "rev": r}
services = {
    n: {"td": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{n}:1", "images": {"app": "nginx:1"},
        "updated": None, "polls": 0, "rev": 1, "old": None, "logged": False}
    for n in names
}
tds = {s["td"]: dict(s["images"]) for s in services.values()}


def state(name):
    """IN_PROGRESS, COMPLETED or FAILED for the service's latest deployment."""
    s = services[name]
    if s["updated"] is None:
        return "COMPLETED"
    if kind == "fail":
        failed_at = s["updated"] + float(arg)
        if time.time() >= failed_at:
            if not s["logged"]:
                log.write(json.dumps({"failed_at": failed_at, "service": name}) + "\n")
                s["logged"] = True
            return "FAILED"
        return "IN_PROGRESS"
    return "COMPLETED" if s["polls"] > int(arg) else "IN_PROGRESS"


def sd_arn(name, rev):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{name}/d{rev}"


def rev_arn(name, rev):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{name}/r{rev}"


def service_json(name):
    s = services[name]
    st = state(name)
    deployments = [{"id": f"ecs-svc/{s['rev']}", "status": "PRIMARY", "taskDefinition": s["td"],
                    "desiredCount": 2, "runningCount": 2 if st == "COMPLETED" else 1, "pendingCount": 0,
                    "failedTasks": 3 if st == "FAILED" else 0, "rolloutState": st,
                    "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start." if st == "FAILED" else "",
                    "createdAt": s["updated"] or 1.7e9}]
    if st == "IN_PROGRESS" and s["old"]:
        deployments.append({"id": f"ecs-svc/{s['rev'] - 1}", "status": "ACTIVE", "taskDefinition": s["old"],
                            "desiredCount": 2, "runningCount": 1, "pendingCount": 0, "failedTasks": 0,
                            "rolloutState": "COMPLETED", "createdAt": 1.7e9})
    out = {"serviceName": name, "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{name}",
           "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}", "status": "ACTIVE",
           "taskDefinition": s["td"], "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
           "deploymentController": {"type": "ECS"},
           "deploymentConfiguration": {"strategy": "ROLLING", "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
           "deployments": deployments, "events": []}
    if not legacy:
        out["currentServiceDeployment"] = sd_arn(name, s["rev"])
    return out


def answer(op, body):
    if op == "DescribeServices":
        found = []
        for n in body.get("services", []):
            n = n.split("/")[-1]
            if n in services:
                services[n]["polls"] += 1
                found.append(service_json(n))
        return {"services": found, "failures": []}
    if op == "DescribeTaskDefinition":
        arn = body["taskDefinition"]
        images = tds[arn]
        family, rev = arn.split("/")[-1].split(":")
        return {"taskDefinition": {"taskDefinitionArn": arn, "family": family, "revision": int(rev), "status": "ACTIVE",
                                   "containerDefinitions": [{"name": c, "image": i, "cpu": 0, "essential": True} for c, i in images.items()],
                                   "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512"},
                "tags": []}
    if op == "RegisterTaskDefinition":
        family = body["family"]
        s = services[family]
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{s['rev'] + 1}"
        tds[arn] = {c["name"]: c["image"] for c in body["containerDefinitions"]}
        return {"taskDefinition": {"taskDefinitionArn": arn, "family": family, "revision": s["rev"] + 1}}
    if op == "UpdateService":
        s = services[body["service"]]
        s.update(old=s["td"], td=body["taskDefinition"], updated=time.time(), polls=0, rev=s["rev"] + 1)
        return {"service": service_json(body["service"])}
    if op in ("ListServiceDeployments", "DescribeServiceDeployments", "DescribeServiceRevisions") and legacy:
        return None
    if op == "ListServiceDeployments":
        n = body["service"].split("/")[-1]
        s = services[n]
        return {"serviceDeployments": [{"serviceDeploymentArn": sd_arn(n, s["rev"]),
                                        "targetServiceRevisionArn": rev_arn(n, s["rev"]), "status": "IN_PROGRESS"}]}
    if op == "DescribeServiceDeployments":
        out = []
        for arn in body["serviceDeploymentArns"]:
            n = arn.split("/")[-2]
            s = services[n]
            st = state(n)
            status = {"IN_PROGRESS": "IN_PROGRESS", "COMPLETED": "SUCCESSFUL", "FAILED": "ROLLBACK_IN_PROGRESS"}[st]
            out.append({"serviceDeploymentArn": arn, "status": status, "lifecycleStage": "SCALE_UP",
                        "targetServiceRevision": {"arn": rev_arn(n, s["rev"]), "requestedTaskCount": 2, "runningTaskCount": 1},
                        "deploymentCircuitBreaker": {"status": "TRIGGERED" if st == "FAILED" else "MONITORING",
                                                     "failureCount": 3 if st == "FAILED" else 0, "threshold": 3}})
        return {"serviceDeployments": out, "failures": []}
    if op == "DescribeServiceRevisions":
        out = []
        for arn in body["serviceRevisionArns"]:
            n = arn.split("/")[-2]
            out.append({"serviceRevisionArn": arn, "taskDefinition": services[n]["td"]})
        return {"serviceRevisions": out, "failures": []}
    if op == "ListTasks":
        n = body["serviceName"]
        stopped = body.get("desiredStatus") == "STOPPED"
        return {"taskArns": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{n}-{'stopped' if stopped else 'run'}{i}" for i in range(2)]}
    if op == "DescribeTasks":
        tasks = []
        for arn in body["tasks"]:
            n, _, rest = arn.split("/")[-1].partition("-")
            td = services[n]["td"]
            containers = [{"name": c, "image": i, "imageDigest": i.partition("@")[2] or "sha256:" + "e" * 64}
                          for c, i in tds[td].items()]
            if rest.startswith("stopped"):
                tasks.append({"taskArn": arn, "taskDefinitionArn": td, "lastStatus": "STOPPED", "stopCode": "TaskFailedToStart",
                              "stoppedReason": "CannotPullContainerError: image Manifest does not contain descriptor matching platform 'linux/arm64'",
                              "containers": containers})
            else:
                tasks.append({"taskArn": arn, "taskDefinitionArn": td, "lastStatus": "RUNNING", "containers": containers})
        return {"tasks": tasks, "failures": []}
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        op = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        with lock:
            log.write(json.dumps({"t": time.time(), "op": op}) + "\n")
            out = answer(op, body)
        if out is None:
            data, status = json.dumps({"__type": "UnknownOperationException"}).encode(), 400
        else:
            data, status = json.dumps(out).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        if status != 200:
            self.send_header("x-amzn-errortype", "UnknownOperationException")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
