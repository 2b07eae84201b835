"""deploy/helm/values.yaml checked against what the official dagster Helm chart (1.13.27) accepts.

Neither helm nor the chart can be fetched here, so three checks stand in for `helm lint` and
`helm template`:

(a) every Kubernetes fragment in the values (the chart's schema `$ref`s the Kubernetes API
    definitions for them) builds the Kubernetes client's models, strictly: an unknown key fails;
(b) the run launcher, run coordinator, run monitoring, run retries and storage sections, turned into
    instance config the way the chart's configmap-instance template turns them, validate against
    Dagster's own config schemas and agree with deploy/dagster.yaml;
(c) the values use only the field names, enum values and required fields that the chart's models
    declare.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import kubernetes.client as k8s
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_k8s import K8sRunLauncher
from dagster_k8s.models import k8s_model_from_dict, k8s_snake_case_dict
from dagster_postgres import PostgresRunStorage

from orchestration.jobs import TRAINING_K8S_CONFIG
from tests.conftest import REPO

DEPLOY = REPO / "deploy"


def _values() -> dict:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


def _dagster_yaml() -> dict:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


# ------------------------------------------------------------------------------------------------
# (c) Field names the chart's models declare.
#
# Read from the public repo dagster-io/dagster, helm/dagster/schema/schema/charts/ (pydantic models
# that generate the chart's values.schema.json). Commits are those the source index stored; where it
# held a newer version of a file without naming its commit, the index's file id is given instead:
#   dagster/values.py (DagsterHelmValues) .......... 835892b45aaa0917bc97102968fe062155b64e19
#   dagster/subschema/global_.py ................... e575592497f87d17ef640537f54ce959e639d70f
#   dagster/subschema/webserver.py ................. 288c61136d5e84d67d20e165ba36f83fa401c396,
#                                                    newer: file id 25901373883
#   dagster/subschema/daemon.py .................... 835892b45aaa0917bc97102968fe062155b64e19,
#                                                    newer: file id 26056388421
#   dagster/subschema/run_launcher.py .............. 969d726524d95ab2f700eb6813fc21bcf2f8ee17,
#                                                    newer (same fields): file id 25639831068
#   dagster/subschema/postgresql.py ................ 3f2daa0de14f913d1ed2a78fd44d330ec8088272,
#                                                    newer (adds `pool`): file id 55939450519
#   dagster/subschema/telemetry.py ................. 6ff7cadeae9b11856d507d65c3c6c4244061715f
#   dagster/subschema/concurrency.py ............... 7dade7692d978f1a272d684596cc338ca7286042
#   dagster_user_deployments/subschema/user_deployments.py
#                                                    58b056509ac06ed8c031c58a116ee174f0afbded,
#                                                    newer: file id 69202380619
#   utils/kubernetes.py (Image, PullPolicy, Service) 36499732c71f4be7abc69ddf9d1d4bd1d82ab72b
# `runMonitoring` is a free-form dict in daemon.py; its keys are the ones
# helm/dagster/templates/configmap-instance.yaml (835892b45aaa) reads.
# The newest values.py allows extra top-level keys, so the chart itself would accept a misspelt
# section and silently ignore it: this list is what catches that.
# ------------------------------------------------------------------------------------------------
IMAGE = {"repository", "tag", "pullPolicy"}
CHART_FIELDS: dict[tuple[str, ...], set[str]] = {
    (): {
        "dagsterWebserver", "dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret",
        "generateCeleryConfigSecret", "rabbitmq", "redis", "flower", "ingress", "imagePullSecrets",
        "computeLogManager", "scheduler", "runLauncher", "pythonLogs", "dagsterDaemon", "busybox",
        "migrate", "telemetry", "serviceAccount", "global", "retention", "additionalInstanceConfig",
        "concurrency",
    },
    ("global",): {"postgresqlSecretName", "dagsterHome", "serviceAccountName", "celeryConfigSecretName"},
    ("dagsterWebserver",): {
        "replicaCount", "image", "nameOverride", "pathPrefix", "service", "workspace", "env",
        "envConfigMaps", "envSecrets", "deploymentLabels", "labels", "nodeSelector", "affinity",
        "tolerations", "podSecurityContext", "securityContext", "checkDbReadyInitContainer",
        "resources", "readinessProbe", "livenessProbe", "startupProbe", "annotations", "enableReadOnly",
        "dbStatementTimeout", "dbPoolRecycle", "dbPoolMaxOverflow", "logLevel", "logFormat",
        "schedulerName", "volumeMounts", "volumes", "initContainerResources", "extraContainers",
        "extraPrependedInitContainers",
    },
    ("dagsterWebserver", "image"): IMAGE,
    ("dagsterWebserver", "service"): {"type", "port", "annotations"},
    ("dagster-user-deployments",): {"enabled", "enableSubchart", "imagePullSecrets", "deployments"},
    ("dagster-user-deployments", "deployments", "*"): {
        "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
        "deploymentNamespace", "port", "replicaCount", "env", "envConfigMaps", "envSecrets",
        "annotations", "nodeSelector", "affinity", "tolerations", "podSecurityContext",
        "securityContext", "resources", "livenessProbe", "readinessProbe", "startupProbe", "labels",
        "volumeMounts", "volumes", "schedulerName", "initContainers", "sidecarContainers",
        "deploymentStrategy",
    },
    ("dagster-user-deployments", "deployments", "*", "image"): IMAGE,
    ("dagster-user-deployments", "deployments", "*", "includeConfigInLaunchedRuns"): {"enabled"},
    ("runLauncher",): {"type", "config"},
    ("runLauncher", "config"): {"celeryK8sRunLauncher", "k8sRunLauncher", "customRunLauncher"},
    ("runLauncher", "config", "k8sRunLauncher"): {
        "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
        "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
        "failPodOnRunFailure", "resources", "schedulerName", "securityContext", "runK8sConfig",
    },
    ("runLauncher", "config", "k8sRunLauncher", "image"): IMAGE,
    ("runLauncher", "config", "k8sRunLauncher", "runK8sConfig"): {
        "containerConfig", "podSpecConfig", "podTemplateSpecMetadata", "jobSpecConfig", "jobMetadata",
    },
    ("postgresql",): {
        "image", "enabled", "postgresqlHost", "postgresqlUsername", "postgresqlPassword",
        "postgresqlDatabase", "postgresqlParams", "postgresqlScheme", "service", "pool",
    },
    ("postgresql", "image"): IMAGE,
    ("postgresql", "service"): {"port"},
    ("dagsterDaemon",): {
        "enabled", "image", "runCoordinator", "heartbeatTolerance", "env", "envConfigMaps",
        "envSecrets", "deploymentLabels", "labels", "nodeSelector", "affinity", "tolerations",
        "podSecurityContext", "securityContext", "resources", "checkDbReadyInitContainer",
        "livenessProbe", "readinessProbe", "startupProbe", "annotations", "runMonitoring",
        "runRetries", "sensors", "schedules", "backfills", "schedulerName", "logFormat",
        "volumeMounts", "volumes", "initContainerResources", "extraContainers",
        "extraPrependedInitContainers",
    },
    ("dagsterDaemon", "image"): IMAGE,
    ("dagsterDaemon", "runCoordinator"): {"enabled", "type", "config"},
    ("dagsterDaemon", "runCoordinator", "config"): {"queuedRunCoordinator", "customRunCoordinator"},
    ("dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator"): {
        "maxConcurrentRuns", "tagConcurrencyLimits", "dequeueIntervalSeconds", "dequeueNumWorkers",
        "dequeueUseThreads", "blockOpConcurrencyLimitedRuns",
    },
    ("dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator", "tagConcurrencyLimits", "*"): {
        "key", "value", "limit",
    },
    ("dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator", "tagConcurrencyLimits", "*",
     "value"): {"applyLimitPerUniqueValue"},
    ("dagsterDaemon", "runMonitoring"): {
        "enabled", "startTimeoutSeconds", "cancelTimeoutSeconds", "maxResumeRunAttempts",
        "pollIntervalSeconds", "freeSlotsAfterRunEndSeconds",
    },
    ("dagsterDaemon", "runRetries"): {"enabled", "maxRetries", "retryOnAssetOrOpFailure"},
    ("telemetry",): {"enabled"},
}
# Chart fields whose value is a Kubernetes object or a free-form map: not walked here, (a) checks them.
K8S_FIELDS = {
    "resources", "nodeSelector", "affinity", "tolerations", "podSecurityContext", "securityContext",
    "env", "envConfigMaps", "envSecrets", "volumes", "volumeMounts", "livenessProbe", "readinessProbe",
    "startupProbe", "labels", "annotations", "deploymentLabels", "imagePullSecrets", "containerConfig",
    "podSpecConfig", "podTemplateSpecMetadata", "jobSpecConfig", "jobMetadata", "postgresqlParams",
}
# Enums (run_launcher.py RunLauncherType, daemon.py RunCoordinatorType, kubernetes.py PullPolicy)
# and the `type` -> required `config` block conditionals (create_json_schema_conditionals).
LAUNCHER_TYPES = {"CeleryK8sRunLauncher": "celeryK8sRunLauncher", "K8sRunLauncher": "k8sRunLauncher",
                  "CustomRunLauncher": "customRunLauncher"}
COORDINATOR_TYPES = {"QueuedRunCoordinator": "queuedRunCoordinator",
                     "CustomRunCoordinator": "customRunCoordinator"}
PULL_POLICIES = {"Always", "IfNotPresent", "Never"}
# Required fields of list items: Helm replaces a list wholesale, so chart defaults fill nothing in.
REQUIRED = {
    ("dagster-user-deployments", "deployments", "*"): {"name", "image", "port"},
    ("dagster-user-deployments", "deployments", "*", "image"): {"repository", "pullPolicy"},
    ("dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator", "tagConcurrencyLimits", "*"): {
        "key", "limit",
    },
}
# Scalar types the models give these field names (bool and int fields the values use).
BOOL_FIELDS = {"enabled", "enableSubchart", "generatePostgresqlPasswordSecret", "loadInclusterConfig",
               "failPodOnRunFailure", "applyLimitPerUniqueValue"}
INT_FIELDS = {"replicaCount", "port", "limit", "maxConcurrentRuns", "startTimeoutSeconds",
              "maxResumeRunAttempts", "maxRetries"}


def _chart_nodes(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict]]:
    """Every mapping in the values that a chart model describes, with its path ("*" = list item)."""
    if isinstance(node, list):
        for item in node:
            yield from _chart_nodes(item, (*path, "*"))
    elif isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key not in K8S_FIELDS:
                yield from _chart_nodes(value, (*path, key))


def chart_problems(values: Mapping[str, Any]) -> list[str]:
    problems = []
    for path, node in _chart_nodes(values):
        where = ".".join(path) or "<top level>"
        if path not in CHART_FIELDS:
            problems.append(f"{where}: no chart model describes a mapping here")
            continue
        if unknown := set(node) - CHART_FIELDS[path]:
            problems.append(f"{where}: not chart fields: {sorted(unknown)}")
        if missing := REQUIRED.get(path, set()) - set(node):
            problems.append(f"{where}: missing required {sorted(missing)}")
        for key, value in node.items():
            if key in BOOL_FIELDS and type(value) is not bool:
                problems.append(f"{where}.{key}: {value!r} is not a boolean")
            if key in INT_FIELDS and type(value) is not int:
                problems.append(f"{where}.{key}: {value!r} is not an integer")
            if key in ("pullPolicy", "imagePullPolicy") and value not in PULL_POLICIES:
                problems.append(f"{where}.{key}: {value!r} is not one of {sorted(PULL_POLICIES)}")
    for section, types in ((values.get("runLauncher"), LAUNCHER_TYPES),
                           (values.get("dagsterDaemon", {}).get("runCoordinator"), COORDINATOR_TYPES)):
        if section and "type" in section:
            if section["type"] not in types:
                problems.append(f"type {section['type']!r} is not one of {sorted(types)}")
            elif types[section["type"]] not in section.get("config", {}):
                problems.append(f"type {section['type']} needs config.{types[section['type']]}")
    return problems


def test_values_use_only_chart_fields():
    assert chart_problems(_values()) == []


def _set(values: dict, path: tuple, value: Any) -> dict:
    node = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return values


def _rename(values: dict, path: tuple, new_key: str) -> dict:
    node = values
    for key in path[:-1]:
        node = node[key]
    node[new_key] = node.pop(path[-1])
    return values


QRC = ("dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda v: _rename(v, ("dagsterDaemon",), "dagsterDeamon"), "dagsterDeamon"),
        (lambda v: _rename(v, (*QRC, "maxConcurrentRuns"), "maxConcurentRuns"), "maxConcurentRuns"),
        (lambda v: _rename(v, ("dagster-user-deployments", "deployments", 0, "dagsterApiGrpcArgs"),
                           "dagsterApiGrpcArg"), "dagsterApiGrpcArg"),
        (lambda v: _rename(v, ("runLauncher", "config", "k8sRunLauncher", "jobNamespace"),
                           "namespace"), "namespace"),
        (lambda v: _set(v, ("runLauncher", "type"), "K8sLauncher"), "K8sLauncher"),
        (lambda v: _set(v, ("dagsterDaemon", "runCoordinator", "type"), "CustomRunCoordinator"),
         "customRunCoordinator"),
        (lambda v: _set(v, ("dagsterWebserver", "image", "pullPolicy"), "IfNotPresnt"), "IfNotPresnt"),
        (lambda v: _set(v, ("dagster-user-deployments", "deployments", 0, "port"), "3030"), "port"),
        (lambda v: _set(v, ("postgresql", "enabled"), "false"), "enabled"),
        (lambda v: v["dagster-user-deployments"]["deployments"][0].pop("image"), "missing required"),
        (lambda v: v[QRC[0]][QRC[1]][QRC[2]][QRC[3]]["tagConcurrencyLimits"][0].pop("limit"),
         "missing required"),
    ],
)
def test_chart_field_check_rejects(mutate, expected):
    values = _values()
    mutate(values)
    problems = chart_problems(values)
    assert any(expected in p for p in problems), problems


# ------------------------------------------------------------------------------------------------
# (a) Kubernetes fragments against the Kubernetes API models (kubernetes client, through
# dagster_k8s.models, which rejects unknown keys and accepts camelCase or snake_case). The chart's
# utils/kubernetes.py $refs io.k8s.api.core.v1 definitions for these fields: resources ->
# ResourceRequirements, envConfigMaps/envSecrets items -> ConfigMapEnvSource/SecretEnvSource,
# env -> EnvVar, nodeSelector/tolerations/affinity/podSecurityContext -> PodSpec fields,
# securityContext -> SecurityContext, probes -> Probe, labels/annotations -> ObjectMeta.
# ------------------------------------------------------------------------------------------------
POD_FIELDS = {"nodeSelector", "tolerations", "affinity", "volumes"}
CONTAINER_FIELDS = {"resources", "securityContext", "env", "volumeMounts", "livenessProbe",
                    "readinessProbe", "startupProbe"}
META_FIELDS = {"labels", "annotations"}
# Chart blocks that become a pod with one main container (the run launcher's fields go into the
# run pods it creates).
POD_BLOCKS = [("dagsterWebserver",), ("dagsterDaemon",), ("dagster-user-deployments", "deployments", "*"),
              ("runLauncher", "config", "k8sRunLauncher")]
RUN_K8S_CONFIG_MODELS = {"containerConfig": k8s.V1Container, "podSpecConfig": k8s.V1PodSpec,
                         "podTemplateSpecMetadata": k8s.V1ObjectMeta, "jobSpecConfig": k8s.V1JobSpec,
                         "jobMetadata": k8s.V1ObjectMeta}
# Fields the client models insist on; fragments leave them to the chart or to dagster.
PLACEHOLDERS = {k8s.V1Container: {"name": "main"}, k8s.V1PodSpec: {"containers": [{"name": "main"}]},
                k8s.V1JobSpec: {"template": {}}}


def _k8s_model(model: type, fragment: Mapping[str, Any]) -> Any:
    """Build a Kubernetes client model from a camelCase or snake_case dict, rejecting unknown keys."""
    if not isinstance(fragment, Mapping):
        raise TypeError(f"{model.__name__} must be a mapping, got {fragment!r}")
    full = {**PLACEHOLDERS.get(model, {}), **fragment}
    return k8s_model_from_dict(model, k8s_snake_case_dict(model, full))


def _string_maps(label: str, **maps: Any) -> list[str]:
    """The API server takes only strings in label, annotation and node-selector maps."""
    return [f"{label}.{name}[{k}]: {v!r} is not a string"
            for name, mapping in maps.items() if isinstance(mapping, Mapping)
            for k, v in mapping.items() if not isinstance(v, str)]


def _blocks(values: Mapping[str, Any], path: tuple[str, ...]) -> Iterator[tuple[str, Mapping]]:
    nodes: list[tuple[str, Any]] = [("", values)]
    for key in path:
        nxt = []
        for label, node in nodes:
            if key == "*":
                nxt += [(f"{label}[{i}]", item) for i, item in enumerate(node or [])]
            elif isinstance(node, Mapping) and key in node:
                nxt.append((f"{label}.{key}" if label else key, node[key]))
        nodes = nxt
    yield from nodes


def k8s_problems(values: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []

    def check(label: str, model: type, fragment: Any) -> None:
        try:
            _k8s_model(model, fragment)
        except Exception as exc:  # the client and dagster_k8s raise plain Exception/ValueError
            problems.append(f"{label}: {exc}")

    for path in POD_BLOCKS:
        for label, block in _blocks(values, path):
            container: dict[str, Any] = {k: v for k, v in block.items() if k in CONTAINER_FIELDS}
            for probe in ("readinessProbe", "startupProbe"):  # the chart adds an `enabled` switch
                if isinstance(container.get(probe), Mapping):
                    container[probe] = {k: v for k, v in container[probe].items() if k != "enabled"}
            if isinstance(container.get("env"), Mapping):  # the chart also takes env as a dict
                container["env"] = [{"name": k, "value": v} for k, v in container["env"].items()]
            env_from = [{"configMapRef": ref} for ref in block.get("envConfigMaps") or []]
            env_from += [{"secretRef": ref} for ref in block.get("envSecrets") or []]
            if env_from:
                container["envFrom"] = env_from
            pod = {k: v for k, v in block.items() if k in POD_FIELDS}
            if "podSecurityContext" in block:
                pod["securityContext"] = block["podSecurityContext"]
            check(label, k8s.V1PodSpec, {**pod, "containers": [{"name": "main", **container}]})
            check(f"{label} metadata", k8s.V1ObjectMeta, {k: v for k, v in block.items() if k in META_FIELDS})
            problems.extend(_string_maps(label, nodeSelector=block.get("nodeSelector"),
                                         labels=block.get("labels"), annotations=block.get("annotations")))
            for key, model in RUN_K8S_CONFIG_MODELS.items():
                if key in (block.get("runK8sConfig") or {}):
                    check(f"{label}.runK8sConfig.{key}", model, block["runK8sConfig"][key])
    return problems


def test_kubernetes_fragments_validate():
    values = _values()
    assert k8s_problems(values) == []
    # the check did reach the fragments: every pod block of these values was found
    assert [label for path in POD_BLOCKS for label, _ in _blocks(values, path)] == [
        "dagsterWebserver", "dagsterDaemon", "dagster-user-deployments.deployments[0]",
        "runLauncher.config.k8sRunLauncher"]


def test_training_run_k8s_config_validates():
    """The GPU placement training runs get through their `dagster-k8s/config` tag (the run-level
    counterpart of the chart's runK8sConfig) and the k8s_job_executor's step config."""
    executor = yaml.safe_load((DEPLOY / "k8s_executor.yaml").read_text())["execution"]["config"]
    for config in (TRAINING_K8S_CONFIG, executor["step_k8s_config"]):
        container = _k8s_model(k8s.V1Container, config["container_config"])
        pod = _k8s_model(k8s.V1PodSpec, config["pod_spec_config"])
        assert container.resources.limits["nvidia.com/gpu"] == "1"
        assert pod.node_selector["alphaforge.io/pool"] == "gpu"
        assert pod.tolerations[0].key == "nvidia.com/gpu"
        assert _string_maps("training", nodeSelector=config["pod_spec_config"]["node_selector"]) == []


LAUNCHER = ("runLauncher", "config", "k8sRunLauncher")
DEPLOYMENT = ("dagster-user-deployments", "deployments", 0)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda v: _rename(v, (*LAUNCHER, "resources", "limits"), "limit"), "limit"),
        (lambda v: _set(v, (*LAUNCHER, "runK8sConfig"),
                        {"podSpecConfig": {"nodeSelectr": {"alphaforge.io/pool": "gpu"}}}), "nodeSelectr"),
        (lambda v: _set(v, (*LAUNCHER, "runK8sConfig"),
                        {"containerConfig": {"resources": {"limits": {"nvidia.com/gpu": "1"}},
                                             "nodeSelector": {"alphaforge.io/pool": "gpu"}}}),
         "V1Container: {'nodeSelector'}"),  # a pod field put on the container
        (lambda v: _set(v, (*DEPLOYMENT, "tolerations"), [{"key": "nvidia.com/gpu", "operatr": "Exists"}]),
         "operatr"),
        (lambda v: _set(v, (*DEPLOYMENT, "env"), [{"value": "production"}]), "name"),
        (lambda v: _set(v, (*DEPLOYMENT, "envSecrets"), [{"nme": "alphaforge-secrets"}]), "nme"),
        (lambda v: _set(v, ("dagsterWebserver", "nodeSelector"), {"nvidia.com/gpu.present": True}),
         "not a string"),
        (lambda v: _set(v, ("dagsterWebserver", "podSecurityContext"), {"runAsUsr": 1000}), "runAsUsr"),
    ],
)
def test_kubernetes_fragment_check_rejects(mutate, expected):
    values = _values()
    mutate(values)
    problems = k8s_problems(values)
    assert any(expected in p for p in problems), problems


# ------------------------------------------------------------------------------------------------
# (b) Values -> instance config, following the chart's templates (dagster-io/dagster):
#   helm/dagster/templates/configmap-instance.yaml ........ 835892b45aaa0917bc97102968fe062155b64e19
#   helm/dagster/templates/helpers/instance/_run-launcher.tpl   a07d616f8ac33bf62c92e48cc36f9b58d829d12f
#   helm/dagster/templates/helpers/instance/_run-coordinator.tpl
#                                        7b8754699eee13e80a713aec24fa1947d5fe2a14, newer: file id 25777818509
#   helm/dagster/templates/helpers/instance/_postgresql.tpl .. 3f2daa0de14f913d1ed2a78fd44d330ec8088272
#   helm/dagster/templates/helpers/_helpers.tpl (fullname, serviceAccountName, postgresql.secretName)
#                                                           a07d616f8ac33bf62c92e48cc36f9b58d829d12f
# A key the templates do not render raises KeyError, so nothing set in the values goes unchecked.
# ------------------------------------------------------------------------------------------------
RELEASE = "dagster"  # `helm upgrade --install dagster dagster/dagster -n dagster` (values.yaml header)
CHART_NAME = "dagster"
CHART_DAGSTER_HOME = "/opt/dagster/dagster_home"  # the chart's global.dagsterHome default
K8S_LAUNCHER_KEYS = {  # camelCase value -> snake_case instance key, as _run-launcher.tpl writes them
    "loadInclusterConfig": "load_incluster_config", "kubeconfigFile": "kubeconfig_file",
    "jobNamespace": "job_namespace", "imagePullPolicy": "image_pull_policy", "envVars": "env_vars",
    "volumeMounts": "volume_mounts", "volumes": "volumes", "labels": "labels", "resources": "resources",
    "schedulerName": "scheduler_name", "securityContext": "security_context",
}
RUN_K8S_CONFIG_KEYS = {"containerConfig": "container_config", "podSpecConfig": "pod_spec_config",
                       "podTemplateSpecMetadata": "pod_template_spec_metadata",
                       "jobSpecConfig": "job_spec_config", "jobMetadata": "job_metadata"}
QUEUED_KEYS = {"tagConcurrencyLimits": "tag_concurrency_limits",
               "dequeueIntervalSeconds": "dequeue_interval_seconds",
               "dequeueUseThreads": "dequeue_use_threads", "dequeueNumWorkers": "dequeue_num_workers"}
RUN_MONITORING_KEYS = {"enabled": "enabled", "startTimeoutSeconds": "start_timeout_seconds",
                       "cancelTimeoutSeconds": "cancel_timeout_seconds",
                       "maxResumeRunAttempts": "max_resume_run_attempts",
                       "pollIntervalSeconds": "poll_interval_seconds",
                       "freeSlotsAfterRunEndSeconds": "free_slots_after_run_end_seconds"}
RUN_RETRIES_KEYS = {"enabled": "enabled", "maxRetries": "max_retries"}


def _fullname(values: Mapping[str, Any]) -> str:
    name = values.get("global", {}).get("nameOverride") or CHART_NAME
    return RELEASE if name in RELEASE else f"{RELEASE}-{name}"


def _run_launcher(values: Mapping[str, Any]) -> dict:
    spec = values["runLauncher"]
    assert spec["type"] == "K8sRunLauncher", "only the K8sRunLauncher mapping is written here"
    launcher = spec["config"]["k8sRunLauncher"]
    glob = values.get("global", {})
    if "imagePullPolicy" not in launcher:
        raise KeyError("imagePullPolicy: unset, the chart would render its own default")
    config: dict[str, Any] = {
        "load_incluster_config": launcher["loadInclusterConfig"],
        "job_namespace": launcher.get("jobNamespace") or RELEASE,  # default: the release namespace
        "service_account_name": glob.get("serviceAccountName")
        or values.get("serviceAccount", {}).get("name") or _fullname(values),
        "dagster_home": glob.get("dagsterHome", CHART_DAGSTER_HOME),
        "instance_config_map": f"{_fullname(values)}-instance",
        "postgres_password_secret": glob.get("postgresqlSecretName")
        or f"{_fullname(values)}-postgresql-secret",
    }
    if values.get("imagePullSecrets"):
        config["image_pull_secrets"] = values["imagePullSecrets"]
    for key, value in launcher.items():
        if key in ("loadInclusterConfig", "jobNamespace"):
            continue
        if key == "image":
            config["job_image"] = f"{value['repository']}:{value['tag']}"
        elif key in ("envConfigMaps", "envSecrets"):
            names = [ref["name"] for ref in value if "name" in ref]
            if names:
                config["env_config_maps" if key == "envConfigMaps" else "env_secrets"] = names
        elif key == "failPodOnRunFailure":
            if value:
                config["fail_pod_on_run_failure"] = True
        elif key == "runK8sConfig":
            config["run_k8s_config"] = {RUN_K8S_CONFIG_KEYS[k]: v for k, v in value.items() if v}
        elif value not in (None, "", [], {}):
            config[K8S_LAUNCHER_KEYS[key]] = value
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _run_coordinator(values: Mapping[str, Any]) -> dict | None:
    daemon = values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    if not (daemon["enabled"] and coordinator["enabled"]):
        return None
    assert coordinator["type"] == "QueuedRunCoordinator", "only the queued mapping is written here"
    assert not values.get("concurrency", {}).get("enabled"), "the `concurrency` block is not mapped"
    queued = coordinator["config"]["queuedRunCoordinator"]
    config: dict[str, Any] = {"max_concurrent_runs": queued.get("maxConcurrentRuns", -1)}
    for key, value in queued.items():
        if key == "maxConcurrentRuns":
            continue
        if key == "blockOpConcurrencyLimitedRuns":
            config["block_op_concurrency_limited_runs"] = {
                "enabled": value["enabled"], "op_concurrency_slot_buffer": value["opConcurrencySlotBuffer"]}
        elif value:
            config[QUEUED_KEYS[key]] = value  # tagConcurrencyLimits go through as-is (toYaml)
    return {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator", "config": config}


def _postgres(values: Mapping[str, Any]) -> dict:
    pg = values["postgresql"]
    assert not pg["enabled"], "only the external-PostgreSQL mapping is written here"
    db: dict[str, Any] = {
        "username": pg["postgresqlUsername"], "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": pg["postgresqlHost"], "db_name": pg["postgresqlDatabase"],
        "port": pg["service"]["port"], "params": pg.get("postgresqlParams", {}),
    }
    if pg.get("postgresqlScheme"):
        db["scheme"] = pg["postgresqlScheme"]
    return {"postgres_db": db}


def instance_from_values(values: Mapping[str, Any]) -> dict:
    """The parts of the chart's dagster.yaml that these values decide."""
    instance: dict[str, Any] = {"run_launcher": _run_launcher(values), "telemetry": {
        "enabled": values["telemetry"]["enabled"]}}
    for storage, module, cls in (("schedule_storage", "schedule_storage", "PostgresScheduleStorage"),
                                 ("run_storage", "run_storage", "PostgresRunStorage"),
                                 ("event_log_storage", "event_log", "PostgresEventLogStorage")):
        instance[storage] = {"module": f"dagster_postgres.{module}", "class": cls,
                             "config": _postgres(values)}
    if coordinator := _run_coordinator(values):
        instance["run_coordinator"] = coordinator
    daemon = values["dagsterDaemon"]
    for key, keys in (("runMonitoring", RUN_MONITORING_KEYS), ("runRetries", RUN_RETRIES_KEYS)):
        section = daemon.get(key, {})
        if daemon["enabled"] and section.get("enabled"):
            snake = "run_monitoring" if key == "runMonitoring" else "run_retries"
            instance[snake] = {keys[k]: v for k, v in section.items()}
    return instance


def _validate(config_class, config: dict) -> dict:
    result = process_config(resolve_to_config_type(config_class.config_type()), config)
    assert result.success, [e.message for e in result.errors]
    return result.value


def _validate_instance(instance: dict, tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "secret")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    config, _ = dagster_instance_config(str(tmp_path))  # every top-level key against its schema
    _validate(K8sRunLauncher, instance["run_launcher"]["config"])
    _validate(QueuedRunCoordinator, instance["run_coordinator"]["config"])
    _validate(PostgresRunStorage, instance["run_storage"]["config"])
    return config


def test_rendered_instance_validates(tmp_path, monkeypatch):
    instance = instance_from_values(_values())
    _validate_instance(instance, tmp_path, monkeypatch)
    assert set(instance) >= {"run_launcher", "run_coordinator", "run_monitoring", "run_retries"}


# Run launcher keys where the chart and deploy/dagster.yaml are meant to differ: the chart adds
# DAGSTER_HOME; dagster.yaml names the run image, which under the chart comes from the code
# location (its user deployment's image).
CHART_ONLY_LAUNCHER_KEYS = {"dagster_home"}
DAGSTER_YAML_ONLY_LAUNCHER_KEYS = {"job_image"}


def agreement_problems(values: Mapping[str, Any], dagster_yaml: Mapping[str, Any]) -> list[str]:
    rendered = instance_from_values(values)
    problems = []
    helm_launcher = rendered["run_launcher"]["config"]
    yaml_launcher = dagster_yaml["run_launcher"]["config"]
    compared = set(helm_launcher) | set(yaml_launcher)
    for key in compared - CHART_ONLY_LAUNCHER_KEYS - DAGSTER_YAML_ONLY_LAUNCHER_KEYS:
        helm_value, yaml_value = helm_launcher.get(key), yaml_launcher.get(key)
        if helm_value != yaml_value:
            problems.append(f"run_launcher.{key}: helm {helm_value!r} != {yaml_value!r}")
    for section in ("run_coordinator", "run_monitoring", "run_retries", "telemetry"):
        helm_value, yaml_value = rendered.get(section), dagster_yaml.get(section)
        if section == "run_coordinator":
            helm_value, yaml_value = (helm_value or {}).get("config"), (yaml_value or {}).get("config")
        if helm_value != yaml_value:
            problems.append(f"{section}: helm {helm_value!r} != {yaml_value!r}")
    helm_db = rendered["run_storage"]["config"]["postgres_db"]
    yaml_db = dagster_yaml["storage"]["postgres"]["postgres_db"]
    for key in ("scheme", "port", "password"):
        if helm_db.get(key) != yaml_db.get(key):
            problems.append(f"postgres_db.{key}: helm {helm_db.get(key)!r} != {yaml_db.get(key)!r}")
    return problems


def test_rendered_instance_agrees_with_dagster_yaml():
    assert agreement_problems(_values(), _dagster_yaml()) == []
    rendered = instance_from_values(_values())
    assert rendered["run_coordinator"]["config"]["max_concurrent_runs"] == 12
    assert rendered["run_launcher"]["config"]["instance_config_map"] == "dagster-instance"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda v: _set(v, (*QRC, "tagConcurrencyLimits", 0, "limit"), 5), "run_coordinator"),
        (lambda v: v[QRC[0]][QRC[1]][QRC[2]][QRC[3]].pop("maxConcurrentRuns"), "run_coordinator"),
        (lambda v: v["runLauncher"]["config"]["k8sRunLauncher"].pop("imagePullPolicy"), "imagePullPolicy"),
        (lambda v: _set(v, ("global", "serviceAccountName"), "runner"), "service_account_name"),
        (lambda v: _set(v, ("dagsterDaemon", "runMonitoring", "startTimeoutSeconds"), 60), "run_monitoring"),
        (lambda v: _set(v, ("postgresql", "postgresqlScheme"), "postgresql"), "scheme"),
    ],
)
def test_agreement_check_catches(mutate, expected):
    values = _values()
    mutate(values)
    try:
        problems = agreement_problems(values, _dagster_yaml())
    except KeyError as exc:
        problems = [str(exc)]
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda v: _set(v, (*QRC, "maxConcurrentRuns"), "twelve"), "max_concurrent_runs"),
        (lambda v: _set(v, (*QRC, "tagConcurrencyLimits", 0, "limt"), 4), "limt"),
        (lambda v: _set(v, (*LAUNCHER, "jobNamespace"), ["dagster"]), "job_namespace"),
        (lambda v: _set(v, (*LAUNCHER, "resources"), {"limits": {"cpu": "2"}, "claims": []}), "claims"),
        (lambda v: _set(v, ("dagsterDaemon", "runMonitoring", "startTimeoutSeconds"), "soon"),
         "start_timeout_seconds"),
        (lambda v: _set(v, ("dagsterDaemon", "runRetries", "maxRetries"), "two"), "max_retries"),
    ],
)
def test_rendered_instance_rejects(mutate, expected, tmp_path, monkeypatch):
    """Dagster's own schemas turn down what the chart would render from a wrong value."""
    values = _values()
    mutate(values)
    with pytest.raises((AssertionError, DagsterInvalidConfigError)) as raised:
        _validate_instance(instance_from_values(values), tmp_path, monkeypatch)
    assert expected in str(raised.value)


def test_run_pods_share_no_disk():
    """The code location (and so every run and step pod it launches) keeps market data in ClickHouse,
    runs each step in a pod of its own and mounts no volume: nothing one pod writes locally is read
    by the next."""
    deployment = _values()["dagster-user-deployments"]["deployments"][0]
    env = {e["name"]: e.get("value") for e in deployment["env"]}
    assert env["ALPHAFORGE_ENV"] == "production" and env["ALPHAFORGE_STORE"] == "clickhouse"
    assert env["ALPHAFORGE_EXECUTOR"] == "k8s"  # a pod per step, as test_no_shared_disk runs them
    assert "volumes" not in deployment and "volumeMounts" not in deployment
    launcher = _values()["runLauncher"]["config"]["k8sRunLauncher"]
    assert "volumes" not in launcher and "volumeMounts" not in launcher
    assert {"name": "alphaforge-secrets"} in launcher["envSecrets"]
