"""Status errors and field errors say what the API server says, in the shape it says it."""

import json

import pytest

from kubelearn.api import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Expired,
    FieldError,
    Forbidden,
    Gone,
    InternalError,
    Invalid,
    MethodNotSupported,
    NotAcceptable,
    NotFound,
    Path,
    Quantity,
    RequestEntityTooLarge,
    StatusError,
    Timeout,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from kubelearn.api.errors import (
    GO_POINTER_ADDRESS,
    GoStruct,
    GoValue,
    aggregate,
    go_json,
    go_quote,
    go_syntax,
    render_value,
)


def test_not_found_status_is_the_api_servers_body() -> None:
    err = NotFound("pods", "x")
    assert str(err) == 'pods "x" not found'
    assert (err.code, err.reason) == (404, "NotFound")
    assert err.status == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "x" not found', "reason": "NotFound",
        "details": {"name": "x", "kind": "pods"}, "code": 404}
    # The key order is the API server's too (metav1.Status field order).
    assert list(err.status) == ["kind", "apiVersion", "metadata", "status", "message", "reason",
                                "details", "code"]


def test_group_qualified_resources() -> None:
    assert str(NotFound("deployments", "web", group="apps")) == 'deployments.apps "web" not found'
    assert NotFound("deployments", "web", group="apps").status["details"] == {
        "name": "web", "group": "apps", "kind": "deployments"}


@pytest.mark.parametrize("err,code,reason,message", [
    (AlreadyExists("pods", "x"), 409, "AlreadyExists", 'pods "x" already exists'),
    (Conflict("pods", "x"), 409, "Conflict",
     'Operation cannot be fulfilled on pods "x": the object has been modified; please apply '
     "your changes to the latest version and try again"),
    (Unauthorized(), 401, "Unauthorized", "not authorized"),
    (Unauthorized("Unauthorized"), 401, "Unauthorized", "Unauthorized"),
    (Gone("gone"), 410, "Gone", "gone"),
    (Expired.too_old(5, 10), 410, "Expired", "too old resource version: 5 (10)"),
    (BadRequest("nope"), 400, "BadRequest", "nope"),
    (MethodNotSupported("bindings", "watch"), 405, "MethodNotAllowed",
     'watch is not supported on resources of kind "bindings"'),
    (RequestEntityTooLarge("limit is 3145728"), 413, "RequestEntityTooLarge",
     "Request entity too large: limit is 3145728"),
    (NotAcceptable(["application/json", "application/yaml"]), 406, "NotAcceptable",
     "only the following media types are accepted: application/json, application/yaml"),
    (UnsupportedMediaType(["application/json"]), 415, "UnsupportedMediaType",
     "the body of the request was in an unknown format - accepted media types include: "
     "application/json"),
    (TooManyRequests("slow down", 1), 429, "TooManyRequests", "slow down"),
    (InternalError("boom"), 500, "InternalError", "Internal error occurred: boom"),
    (Timeout("request did not complete within 60s", 2), 504, "Timeout",
     "Timeout: request did not complete within 60s"),
])
def test_reasons_codes_and_messages(err: StatusError, code: int, reason: str,
                                    message: str) -> None:
    assert (err.code, err.reason, str(err)) == (code, reason, message)
    assert err.status["code"] == code and err.status["reason"] == reason
    assert isinstance(err, StatusError) and isinstance(err, Exception)


def test_forbidden_as_rbac_words_it() -> None:
    err = Forbidden.for_request("u", "list", "pods", namespace="default")
    assert str(err) == ('pods is forbidden: User "u" cannot list resource "pods" in API group "" '
                        'in the namespace "default"')
    assert err.code == 403
    err = Forbidden.for_request("u", "get", "nodes", name="n1")
    assert str(err) == ('nodes "n1" is forbidden: User "u" cannot get resource "nodes" in API '
                        'group "" at the cluster scope')
    err = Forbidden.for_request("u", "create", "deployments", group="apps", namespace="ns",
                                subresource="scale", why="RBAC: role not found")
    assert str(err) == ('deployments.apps is forbidden: User "u" cannot create resource '
                        '"deployments/scale" in API group "apps" in the namespace "ns": '
                        "RBAC: role not found")


def test_invalid_aggregates_every_field_error() -> None:
    one = Invalid("Pod", "web", [FieldError.required(Path("spec", "containers").index(0)
                                                     .child("image"))])
    assert str(one) == 'Pod "web" is invalid: spec.containers[0].image: Required value'
    two = Invalid("Pod", "web", [
        FieldError.required(Path("spec", "containers").index(0).child("image")),
        FieldError.invalid(Path("metadata", "name"), "Web", "must be lower case")])
    assert str(two) == ('Pod "web" is invalid: [spec.containers[0].image: Required value, '
                        'metadata.name: Invalid value: "Web": must be lower case]')
    assert two.code == 422 and two.reason == "Invalid"
    assert two.status["details"] == {
        "name": "web", "kind": "Pod",
        "causes": [
            {"reason": "FieldValueRequired", "message": "Required value",
             "field": "spec.containers[0].image"},
            {"reason": "FieldValueInvalid", "message": 'Invalid value: "Web": must be lower case',
             "field": "metadata.name"}]}


def test_invalid_dedups_repeated_messages_and_qualifies_groups() -> None:
    err = FieldError.required("spec.selector")
    assert str(Invalid("Deployment", "d", [err, err], group="apps")) == \
        'Deployment.apps "d" is invalid: spec.selector: Required value'
    assert str(Invalid("Pod", "p", [])) == 'Pod "p" is invalid'


def test_status_round_trips_through_json() -> None:
    for err in (NotFound("pods", "x"), Invalid("Pod", "p", [FieldError.required("spec")]),
                Conflict("leases", "n1", group="coordination.k8s.io"), Expired("too old")):
        body = json.loads(json.dumps(err.status))
        back = StatusError.from_status(body)
        assert type(back) is type(err)
        assert (back.code, back.reason, str(back), back.status) == (
            err.code, err.reason, str(err), err.status)


def test_unknown_reason_rebuilds_a_plain_status_error() -> None:
    back = StatusError.from_status({"kind": "Status", "message": "odd", "code": 500})
    assert type(back) is StatusError and str(back) == "odd" and back.code == 500


def test_field_paths_print_as_upstream() -> None:
    path = Path("spec").child("containers").index(0).child("resources", "limits").key("cpu")
    assert str(path) == "spec.containers[0].resources.limits[cpu]"
    assert str(Path("metadata", "taints").index(1)) == "metadata.taints[1]"
    assert str(Path("")) == "[]"  # field.NewPath(""): "the whole object"
    assert str(Path("data").key("a.b")) == "data[a.b]"


@pytest.mark.parametrize("err,text", [
    (FieldError.required("spec.containers"), "spec.containers: Required value"),
    (FieldError.required("metadata.name", "name or generateName is required"),
     "metadata.name: Required value: name or generateName is required"),
    (FieldError.invalid("metadata.name", "x", "bad"), 'metadata.name: Invalid value: "x": bad'),
    (FieldError.invalid("spec.replicas", -1, "must be greater than or equal to 0"),
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    # v1.32 ErrorBody: nil becomes the string "null" (and prints quoted); composites %#v
    (FieldError.invalid("a", None, "d"), 'a: Invalid value: "null": d'),
    (FieldError.invalid("a", True, "d"), "a: Invalid value: true: d"),
    (FieldError.invalid("a", {"b": "1", "a": "2"}, "d"),
     'a: Invalid value: map[string]string{"a":"2", "b":"1"}: d'),
    (FieldError.invalid("a", ["x", "y"], "d"), 'a: Invalid value: []string{"x", "y"}: d'),
    (FieldError.invalid("a", GoValue("*int64", None), "d"), 'a: Invalid value: "null": d'),
    (FieldError.invalid("a", GoValue("*int64", 5), "d"), "a: Invalid value: 5: d"),
    (FieldError.invalid("a", GoValue("[]string", None), "d"), "a: Invalid value: []string(nil): d"),
    (FieldError.invalid("spec.ipFamilies[0]", GoValue("[]core.IPFamily", ["IPv4"]), "d"),
     'spec.ipFamilies[0]: Invalid value: []core.IPFamily{"IPv4"}: d'),
    # a Quantity passed by value is no fmt.Stringer (String has a pointer receiver)
    (FieldError.invalid("a", Quantity("1500m"), "must be an integer"),
     'a: Invalid value: resource.Quantity{i:resource.int64Amount{value:1500, scale:-3}, '
     'd:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"1500m", Format:"DecimalSI"}: '
     "must be an integer"),
    (FieldError.not_supported("spec.restartPolicy", "Sometimes", ["Always", "OnFailure", "Never"]),
     'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
     '"OnFailure", "Never"'),
    (FieldError.not_supported("a", "x", []), 'a: Unsupported value: "x"'),
    (FieldError.duplicate("spec.containers[1].name", "web"),
     'spec.containers[1].name: Duplicate value: "web"'),
    (FieldError.forbidden("metadata.namespace", "not allowed on this type"),
     "metadata.namespace: Forbidden: not allowed on this type"),
    (FieldError.not_found("spec.volumeMounts[0].name", "data"),
     'spec.volumeMounts[0].name: Not found: "data"'),
    (FieldError.too_long("metadata.annotations", 262144),
     "metadata.annotations: Too long: may not be more than 262144 bytes"),
    (FieldError.too_long("a", 1), "a: Too long: may not be more than 1 bytes"),  # v1.32
    (FieldError.too_long("a", -1), "a: Too long: value is too long"),
    (FieldError.too_many("spec.hostAliases", 3, 2),
     "spec.hostAliases: Too many: 3: must have at most 2 items"),
    (FieldError.too_many("a", -1, 1), "a: Too many: must have at most 1 items"),
    (FieldError.internal("a", "oops"), "a: Internal error: oops"),
])
def test_field_errors_print_as_upstream(err: FieldError, text: str) -> None:
    assert str(err) == text


def test_field_error_types_are_upstreams_cause_types() -> None:
    assert FieldError.required("a").type == "FieldValueRequired"
    assert FieldError.invalid("a", 1, "").type == "FieldValueInvalid"
    assert FieldError.not_supported("a", 1, []).type == "FieldValueNotSupported"
    assert FieldError.too_long("a", 1).type == "FieldValueTooLong"


def test_aggregate() -> None:
    assert aggregate([]) == ""
    assert aggregate(["a"]) == "a"
    assert aggregate(["a", "b", "a"]) == "[a, b]"


def test_go_quote_escapes_like_strconv_quote() -> None:
    assert go_quote('say "hi"\n') == '"say \\"hi\\"\\n"'
    assert go_quote("tab\there") == '"tab\\there"'
    assert go_quote("\x01") == '"\\x01"'
    assert go_quote("héllo ✓") == '"héllo ✓"'
    assert go_quote("\u200b") == '"\\u200b"'


def test_go_json_is_compact_sorted_and_html_safe() -> None:
    assert go_json({"b": 1, "a": [True, None, 1.5]}) == '{"a":[true,null,1.5],"b":1}'
    assert go_json("<a&b>") == '"\\u003ca\\u0026b\\u003e"'
    assert go_json(1e21) == "1e+21"
    assert go_json(1e-7) == "1e-7"
    assert go_json(100.0) == "100"
    struct = GoStruct("apps.DeploymentStrategy", Type="Foo",
                      RollingUpdate=GoValue("*apps.RollingUpdateDeployment", None))
    assert go_json(struct) == '{"Type":"Foo","RollingUpdate":null}'


def test_go_syntax_prints_as_fmt_sharp_v() -> None:
    assert go_syntax(["a", "b"]) == '[]string{"a", "b"}'
    assert go_syntax([]) == "[]interface {}{}"
    assert go_syntax(["10.96.0.1"], "[]string") == '[]string{"10.96.0.1"}'
    assert go_syntax(None, "[]string") == "[]string(nil)"
    assert go_syntax({"c": "d", "a": "b"}) == 'map[string]string{"a":"b", "c":"d"}'
    assert go_syntax({}, "map[string]string") == "map[string]string{}"
    assert go_syntax(None, "map[string]string") == "map[string]string(nil)"
    assert go_syntax({"k": ["v"]}, "map[string][]string") == (
        'map[string][]string{"k":[]string{"v"}}')
    assert go_syntax(None, "*int64") == "(*int64)(nil)"
    assert go_syntax(300, "*int64") == f"(*int64)({GO_POINTER_ADDRESS})"
    assert go_syntax(True) == "true" and go_syntax(7) == "7" and go_syntax(0.5) == "0.5"


def test_go_struct_prints_its_type_and_fields_in_order() -> None:
    toleration = GoStruct("core.Toleration", Key="k", Operator="Exists", Value="v",
                          Effect="NoExecute", TolerationSeconds=GoValue("*int64", 300))
    assert render_value(toleration) == (
        'core.Toleration{Key:"k", Operator:"Exists", Value:"v", Effect:"NoExecute", '
        f"TolerationSeconds:(*int64)({GO_POINTER_ADDRESS})}}")
    assert GO_POINTER_ADDRESS.startswith("0xc000")


def test_error_useful_message_ported_from_upstream() -> None:
    """errors_test.go TestErrorUsefulMessage (apimachinery v0.32.0), with %#v's exact text."""
    assert "null" in str(FieldError.invalid("", None, ""))
    text = str(FieldError.invalid("foo", "bar", "deet"))
    assert all(part in text for part in ("foo", "bar", "deet", "Invalid value"))
    complicated = GoValue("*field.complicated", GoStruct(
        "field.complicated", Baz=1, Qux="aoeu",
        Inner=GoValue("*field.complicated", GoStruct("field.complicated", Qux="asdf")),
        KV=GoValue("map[string]int", {"Billy": 2})))
    assert str(FieldError.invalid("foo", complicated, "detail")) == (
        'foo: Invalid value: field.complicated{Baz:1, Qux:"aoeu", '
        f'Inner:(*field.complicated)({GO_POINTER_ADDRESS}), KV:map[string]int{{"Billy":2}}}}: '
        "detail")


def test_render_value() -> None:
    assert render_value(1.5) == "1.5"
    assert render_value(1e21) == "1e+21"
    assert render_value("x") == '"x"'
    assert render_value(None) == '"null"'
    assert render_value({"app": "web"}) == 'map[string]string{"app":"web"}'


def test_render_value_from_v1_34_is_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """PR #132314 (v1.34): composites as JSON, nil as null, singular byte and item."""
    import kubelearn.api.errors as errors

    monkeypatch.setattr(errors, "since", lambda minor, major=1: minor <= 34)
    assert render_value(None) == "null"
    assert render_value({"app": "web"}) == '{"app":"web"}'
    assert render_value(GoValue("[]string", ["a", "b"])) == '["a","b"]'
    assert render_value(Quantity("1500m")) == '"1500m"'
    assert str(FieldError.too_long("a", 1)) == "a: Too long: may not be more than 1 byte"
    assert str(FieldError.too_many("a", -1, 1)) == "a: Too many: must have at most 1 item"
