"""Label and field selectors parse, print and match as apimachinery's labels and fields do."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubelearn.api import (
    BadRequest,
    FieldSelector,
    LabelSelector,
    Requirement,
    SelectorError,
    parse_field_selector,
    parse_selector,
    selectable_fields,
)
from kubelearn.api.fieldselector import escape_value, unescape_value

LABELS = {"app": "web", "tier": "frontend", "env": "prod", "replicas": "3"}


@pytest.mark.parametrize("text,canonical", [
    # TestToString (labels/selector_test.go), through the parser
    ("x in (abc,def),y notin (jkl),z", "x in (abc,def),y notin (jkl),z"),
    ("x notin (abc,def),y!=jkl,!z", "x notin (abc,def),y!=jkl,!z"),
    ("x notin (abc),y in (jkl,mno),z notin ()", "x notin (abc),y in (jkl,mno),z notin ()"),
    ("x=abc,y==jkl,z!=a,z", "x=abc,y==jkl,z!=a,z"),
    ("x>2,y<8,z", "x>2,y<8,z"),
    # the grammar's own example, values sorted and sorted by key
    ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
    ("app=web,tier!=db,env in (b,a),!legacy,key", "app=web,env in (a,b),key,!legacy,tier!=db"),
    ("  app = web ,  tier  in  ( a , b )  ", "app=web,tier in (a,b)"),
    ("", ""), ("a!=", "a!="), ("a=", "a="), ("in in (in,notin)", "in in (in,notin)"),
    ("example.com/app=web", "example.com/app=web"),
])
def test_parse_and_print(text: str, canonical: str) -> None:
    selector = parse_selector(text)
    assert str(selector) == canonical
    assert parse_selector(str(selector)) == selector


@pytest.mark.parametrize("text,matches", [
    ("app=web", True), ("app==web", True), ("app!=web", False), ("app=db", False),
    ("app in (web,api)", True), ("app notin (web)", False), ("missing notin (x)", True),
    ("missing!=x", True), ("app", True), ("!app", False), ("!missing", True),
    ("replicas>2", True), ("replicas<3", False), ("app>1", False), ("missing>1", False),
    ("app=web,tier=frontend,env=prod", True), ("app=web,env=dev", False), ("", True),
])
def test_matches(text: str, matches: bool) -> None:
    assert parse_selector(text).matches(LABELS) is matches


@pytest.mark.parametrize("text,message", [
    ("app in", "unable to parse requirement: found '' expected: '('"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    ("a=(b)", "unable to parse requirement: found '(', expected: identifier"),
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
            "operators, the value must be an integer"),
    # a real kubectl message (kubectl get pods -l "app:monolith")
    ("app:monolith",
     "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": name part must "
     "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
     "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
     "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ("a=b_", "unable to parse requirement: values[0][a]: Invalid value: \"b_\": a valid label "
             "must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
             "and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
             "'my_value',  or '12345', regex used for validation is "
             "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_selector(text)
    assert str(err.value) == message
    assert isinstance(err.value, BadRequest) and err.value.code == 400


def test_requirement_checks_its_operator_and_values() -> None:
    with pytest.raises(SelectorError, match=r"operator: Unsupported value: \"like\": supported "
                                            r"values: \"in\", \"notin\""):
        Requirement("a", "like", ["b"])
    with pytest.raises(SelectorError, match="exact-match compatibility requires one single value"):
        Requirement("a", "=", ["b", "c"])
    with pytest.raises(SelectorError, match="values set must be empty for exists"):
        Requirement("a", "exists", ["b"])
    with pytest.raises(SelectorError) as err:
        Requirement("a", "in", [])
    # v1.32 prints the nil []string LabelSelectorAsSelector passes with %#v
    assert str(err.value) == ("values: Invalid value: []string(nil): for 'in', 'notin' "
                              "operators, values set can't be empty")
    with pytest.raises(SelectorError) as err:
        Requirement("a", "=", ["b", "c"])
    assert str(err.value) == ('values: Invalid value: []string{"b", "c"}: exact-match '
                              "compatibility requires one single value")


def test_from_dict_is_label_selector_as_selector() -> None:
    selector = LabelSelector.from_dict({
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]},
                             {"key": "legacy", "operator": "DoesNotExist"}]})
    assert str(selector) == "app=web,env in (dev,prod),!legacy"
    assert selector.matches(LABELS)
    assert not selector.matches({**LABELS, "legacy": "yes"})


def test_nil_selects_nothing_and_empty_selects_everything() -> None:
    assert not LabelSelector.from_dict(None).matches(LABELS)
    assert not LabelSelector.from_dict(None).empty()
    assert LabelSelector.from_dict({}).matches(LABELS)
    assert LabelSelector.from_dict({"matchLabels": {}}).empty()


def test_from_dict_errors() -> None:
    with pytest.raises(SelectorError) as err:
        LabelSelector.from_dict({"matchExpressions": [{"key": "a", "operator": "Like"}]})
    assert str(err.value) == '"Like" is not a valid label selector operator'
    with pytest.raises(BadRequest) as bad:
        LabelSelector.from_dict({"matchLabels": ["a"]})
    assert str(bad.value) == ("json: cannot unmarshal array into Go struct field "
                              "LabelSelector.matchLabels of type map[string]string")


def test_from_set_and_exact_match() -> None:
    selector = LabelSelector.from_set({"tier": "frontend", "app": "web"})
    assert str(selector) == "app=web,tier=frontend"
    assert selector.requires_exact_match("app") == "web"
    assert parse_selector("app in (a,b)").requires_exact_match("app") is None
    assert parse_selector("app in (a)").requires_exact_match("app") == "a"


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.text(alphabet="ab=!,() \tinotx<>0123", max_size=20))
def test_any_text_parses_or_raises_selector_error(text: str) -> None:
    try:
        selector = parse_selector(text)
    except SelectorError:
        return
    assert parse_selector(str(selector)) == selector


# -- field selectors --------------------------------------------------------------------


@pytest.mark.parametrize("text,canonical", [
    ("metadata.name=x,spec.nodeName=", "metadata.name=x,spec.nodeName="),
    ("spec.nodeName==n1", "spec.nodeName=n1"),
    ("status.phase!=Running,metadata.name=x", "metadata.name=x,status.phase!=Running"),
    ("a=b\\,c", "a=b\\,c"), ("", ""), ("a=b,,", "a=b"),
])
def test_field_selector_parse_and_print(text: str, canonical: str) -> None:
    selector = parse_field_selector(text)
    assert str(selector) == canonical
    assert parse_field_selector(str(selector)) == selector


def test_field_selector_matches() -> None:
    fields = {"metadata.name": "web", "spec.nodeName": "", "status.phase": "Pending"}
    assert parse_field_selector("spec.nodeName=").matches(fields)  # unscheduled pods
    assert parse_field_selector("metadata.name=web,status.phase!=Running").matches(fields)
    assert not parse_field_selector("spec.nodeName!=").matches(fields)
    assert parse_field_selector("missing=").matches(fields)
    assert parse_field_selector("spec.nodeName=n1").requires_exact_match("spec.nodeName") == "n1"
    assert FieldSelector.everything().matches(fields)
    assert str(FieldSelector.from_set({"b": "2", "a": "1"})) == "a=1,b=2"


@pytest.mark.parametrize("text,message", [
    ("a", "invalid selector: 'a'; can't understand 'a'"),
    ("x=1,b", "invalid selector: 'x=1,b'; can't understand 'b'"),
    ("a=b\\x", "invalid field selector: invalid escape sequence: \\x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
])
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_field_selector(text)
    assert str(err.value) == message


def test_escape_round_trips() -> None:
    for value in ("a,b=c\\d", "", "plain"):
        assert unescape_value(escape_value(value)) == value


def test_selectable_fields_of_a_pod_node_and_event() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"nodeName": "n1", "hostNetwork": True},
           "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}]}}
    fields = selectable_fields(pod)
    assert fields["metadata.name"] == "web" and fields["metadata.namespace"] == "default"
    assert fields["spec.nodeName"] == "n1" and fields["spec.hostNetwork"] == "true"
    assert fields["status.podIP"] == "10.0.0.5" and fields["spec.restartPolicy"] == ""
    node = selectable_fields({"kind": "Node", "metadata": {"name": "n1"}})
    assert node == {"metadata.name": "n1", "spec.unschedulable": "false"}
    event = selectable_fields({"kind": "Event", "metadata": {"name": "e", "namespace": "d"},
                               "involvedObject": {"kind": "Pod", "name": "web"},
                               "reason": "Scheduled", "source": {"component": "scheduler"}})
    assert event["involvedObject.kind"] == "Pod" and event["source"] == "scheduler"
    assert parse_field_selector("involvedObject.name=web,reason=Scheduled").matches(event)
