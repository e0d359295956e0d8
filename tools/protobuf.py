#!/usr/bin/env python3
"""Writes the generated part of src/lab/api/protobuf.yaml: the protobuf field numbers of the
built-in kinds the practice cluster answers in protobuf, read from k8s.io/api (v0.32.0).

kubectl's typed clients (describe, drain, logs, events, rollout, cluster-info dump) ask for
protobuf first; the lab encodes and decodes with this table (src/lab/protobuf.rs).

Run by hand (not in CI) from the repository root, with a clone of kubernetes/api that has the
tag:

    git clone https://github.com/kubernetes/api /tmp/k8s-api     # or any clone with v0.32.0
    python3 tools/protobuf.py /tmp/k8s-api [v0.32.0]

It reads the tag's files with `git show` and rewrites everything after the `# Generated from`
line of src/lab/api/protobuf.yaml (the hand-written apimachinery messages above it stay:
ObjectMeta, ListMeta, Status, LabelSelector, Condition, the review and eviction bodies). For
each message reachable from ROOTS:
- numbers and types come from the package's generated.proto;
- a field's JSON name, whether Go holds it through a pointer, `omitempty`, and
  `json:",inline"` come from the struct tags in types.go (the `protobuf:"...,N,..."` tag
  names the field number);
- types as the YAML's header describes them: string s, int32/int64 i (i0 when Go has a plain
  int with omitempty: zero is absent in JSON), bool b (b0 likewise), meta Time t, MicroTime
  mt, Quantity q, IntOrString ios, map<string,string|bytes|Quantity|Time> map / bytesmap /
  qmap / tmap, repeated X [X], a message of the same API Name, `Name*` when Go holds it
  through a pointer (an empty message then stays `{}`), `..:Name` for an inlined struct;
- a message of another group whose name a core or apps message, or a message of a third
  package, has too is written `<group>/<version>.Name` (events.k8s.io/v1.Event,
  discovery.k8s.io/v1.EndpointPort, autoscaling/v1.HorizontalPodAutoscalerSpec), and so is
  a kind served in two versions (autoscaling/v2.HorizontalPodAutoscaler), so the server never
  reads one version with the other's numbers.

Fields it cannot map are listed on stderr and left out (an object holding one is answered in
JSON). To answer one more kind in protobuf, add it to ROOTS (and its package to PACKAGES).
"""

import json
import re
import subprocess
import sys
import textwrap

# Package (k8s.io/api directory) -> the apiVersion its qualified names use.
PACKAGES = {
    "core/v1": "v1",
    "apps/v1": "apps/v1",
    "batch/v1": "batch/v1",
    "policy/v1": "policy/v1",
    "events/v1": "events.k8s.io/v1",
    "discovery/v1": "discovery.k8s.io/v1",
    "coordination/v1": "coordination.k8s.io/v1",
    "networking/v1": "networking.k8s.io/v1",
    "autoscaling/v1": "autoscaling/v1",
    "autoscaling/v2": "autoscaling/v2",
    "storage/v1": "storage.k8s.io/v1",
    "scheduling/v1": "scheduling.k8s.io/v1",
    "rbac/v1": "rbac.authorization.k8s.io/v1",
}

# The kinds answered in protobuf, in the order their messages are written.
ROOTS = [
    "core/v1 Pod", "apps/v1 ReplicaSet", "apps/v1 Deployment", "apps/v1 DaemonSet",
    "apps/v1 StatefulSet", "core/v1 Node", "core/v1 Event", "events/v1 Event",
    "policy/v1 PodDisruptionBudget", "core/v1 Endpoints", "discovery/v1 EndpointSlice",
    "coordination/v1 Lease", "core/v1 Service", "core/v1 ServiceAccount", "core/v1 Namespace",
    "core/v1 ConfigMap", "core/v1 Secret", "core/v1 LimitRange",
    "core/v1 ReplicationController", "core/v1 ResourceQuota", "core/v1 PersistentVolumeClaim",
    "core/v1 PersistentVolume", "batch/v1 Job", "batch/v1 CronJob", "networking/v1 Ingress",
    "networking/v1 IngressClass", "networking/v1 NetworkPolicy",
    "autoscaling/v1 HorizontalPodAutoscaler", "autoscaling/v2 HorizontalPodAutoscaler",
    "storage/v1 StorageClass",
    "scheduling/v1 PriorityClass", "rbac/v1 Role", "rbac/v1 ClusterRole", "rbac/v1 RoleBinding",
    "rbac/v1 ClusterRoleBinding",
]

# Kinds another served version also has (autoscaling/v1 HorizontalPodAutoscaler).
TWO_VERSIONS = {"autoscaling/v1 HorizontalPodAutoscaler", "autoscaling/v2 HorizontalPodAutoscaler"}

# apimachinery messages written by hand above the marker, by their proto name.
META = {"ObjectMeta", "ListMeta", "LabelSelector", "Condition"}
APIMACHINERY = ".k8s.io.apimachinery.pkg."
SCALARS = {"string": "s", "int32": "i", "int64": "i", "bool": "b"}
NAMED = {
    APIMACHINERY + "apis.meta.v1.Time": "t",
    APIMACHINERY + "apis.meta.v1.MicroTime": "mt",
    APIMACHINERY + "util.intstr.IntOrString": "ios",
    APIMACHINERY + "api.resource.Quantity": "q",
}
MAP_VALUES = {
    "string": "map",
    "bytes": "bytesmap",
    APIMACHINERY + "api.resource.Quantity": "qmap",
    APIMACHINERY + "apis.meta.v1.Time": "tmap",
}
YAML = "src/lab/api/protobuf.yaml"
MARKER = "# Generated from"


def show(repo, tag, path):
    return subprocess.run(
        ["git", "-C", repo, "show", f"{tag}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def proto_messages(src):
    """{message: {number: (label, type, name)}} of a generated.proto."""
    out = {}
    for m in re.finditer(r"\nmessage (\w+) \{(.*?)\n\}", src, re.S):
        fields = {}
        pattern = r"\n  (optional|repeated|map<[^>]+>)\s*(\S*)\s+(\w+) = (\d+);"
        for label, ty, name, num in re.findall(pattern, m.group(2)):
            fields[int(num)] = (label, ty, name)
        out[m.group(1)] = fields
    return out


def go_structs(src):
    """{struct: {number: field}} of a types.go, from the fields' json and protobuf tags."""
    out = {}
    for m in re.finditer(r"\ntype (\w+) struct \{(.*?)\n\}", src, re.S):
        fields = {}
        for line in m.group(2).split("\n"):
            t = re.match(r'\t(?:(\w+)\s+)?(\S+)\s+`json:"([^"]*)".*?protobuf:"([^"]*)"', line)
            if not t:
                continue
            name, *opts = t.group(3).split(",")
            fields[int(t.group(4).split(",")[1])] = {
                "pointer": t.group(2).startswith("*"),
                "json": name,
                "omitempty": "omitempty" in opts,
                "inline": "inline" in opts,
            }
        out[m.group(1)] = fields
    return out


def main():
    repo = sys.argv[1]
    tag = sys.argv[2] if len(sys.argv) > 2 else "v0.32.0"
    protos, gos = {}, {}
    for pkg in PACKAGES:
        protos[pkg] = proto_messages(show(repo, tag, f"{pkg}/generated.proto"))
        gos[pkg] = go_structs(show(repo, tag, f"{pkg}/types.go"))
    shared = set(protos["core/v1"]) | set(protos["apps/v1"])
    # How many of the other packages have a message of each name (autoscaling v1 and v2 both
    # have HorizontalPodAutoscalerSpec, with other numbers).
    others = {}
    for pkg in PACKAGES:
        if pkg not in ("core/v1", "apps/v1"):
            for msg in protos[pkg]:
                others[msg] = others.get(msg, 0) + 1

    def entry_name(pkg, msg):
        qualified = f"{pkg} {msg}" in TWO_VERSIONS
        if pkg not in ("core/v1", "apps/v1") and (msg in shared or others.get(msg, 0) > 1):
            qualified = True
        if qualified:
            return f"{PACKAGES[pkg]}.{msg}"
        return msg

    def local(pkg, ty):
        if ty.startswith(".k8s.io.api."):
            parts = ty.split(".")
            other = f"{parts[4]}/{parts[5]}"
            return (other, parts[-1]) if other in PACKAGES else None
        return (pkg, ty) if "." not in ty else None

    out, seen, skipped = {}, set(), []

    def field_type(pkg, label, ty, go):
        if label.startswith("map<"):
            return MAP_VALUES.get(label[4:-1].split(",")[1].strip())
        base = SCALARS.get(ty) or NAMED.get(ty)
        plain = go["omitempty"] and not go["pointer"] and label != "repeated"
        if base in ("i", "b") and plain:
            base += "0"
        if base is None and ty.startswith(APIMACHINERY) and ty.split(".")[-1] in META:
            base = ty.split(".")[-1]
        if base is None and (target := local(pkg, ty)):
            walk(*target)
            base = entry_name(*target)
            if go["pointer"] and label != "repeated":
                base += "*"
        if base is not None and label == "repeated":
            base = f"[{base}]"
        return base

    def walk(pkg, msg):
        if (pkg, msg) in seen:
            return
        seen.add((pkg, msg))
        entry = {}
        go_fields = gos[pkg].get(msg, {})
        for num, (label, ty, name) in sorted(protos[pkg][msg].items()):
            go = go_fields.get(num)
            ft = field_type(pkg, label, ty, go) if go else None
            if ft is None:
                skipped.append(f"{pkg} {msg}.{name} ({label} {ty})")
                continue
            json_name = ".." if go["inline"] else go["json"]
            entry[num] = json_name if ft == "s" else f"{json_name}:{ft}"
        out[entry_name(pkg, msg)] = entry

    for root in ROOTS:
        walk(*root.split(" "))

    def scalar(text):
        return text if re.fullmatch(r"[A-Za-z]\w*", text) else json.dumps(text)

    lines = []
    for name, fields in out.items():
        body = ", ".join(f"{n}: {scalar(spec)}" for n, spec in fields.items())
        lines.append(f"{scalar(name)}: {{{body}}}")
    about = (
        f"k8s.io/api {tag} by tools/protobuf.py: json names, pointers and inlining from "
        f"types.go, numbers and types from generated.proto ({', '.join(PACKAGES)})."
    )
    header = textwrap.wrap(about, width=96, initial_indent=f"{MARKER} ", subsequent_indent="# ")
    with open(YAML, encoding="utf-8") as f:
        text = f.read()
    keep = text[: text.index(MARKER)]
    with open(YAML, "w", encoding="utf-8") as f:
        f.write(keep + "\n".join(header + lines) + "\n")
    for s in skipped:
        print(f"left out: {s}", file=sys.stderr)


if __name__ == "__main__":
    main()
