"""kube-proxy's iptables rules: chain names, probabilities, and whole tables from proxier_test.go.

The expected tables are upstream's (pkg/proxy/iptables/proxier_test.go, v1.32-era:
TestOverallIPTablesRules, TestSyncProxyRulesRepeated, TestSyncProxyRulesLargeClusterMode,
TestMasqueradeRule, TestDropInvalidRule, TestNodePorts, TestComputeProbability), compared
byte for byte in upstream's sorted order (sortIPTablesRules). TestOverallIPTablesRules'
table lives in tests/proxy_testing.py: the packet-flow tests route through it too.
"""

from __future__ import annotations

from textwrap import dedent

import pytest

from kubelearn.proxy.iptables import (
    FRAME_COLUMNS,
    NAT,
    ProxyConfig,
    Rule,
    RuleSet,
    diff,
    endpoint_chain,
    external_chain,
    firewall_chain,
    local_chain,
    probability,
    service_chain,
    sync_rules,
)
from tests.proxy_testing import (
    FILTER_CHAINS,
    OVERALL_IPTABLES_RULES,
    P80,
    endpoint,
    endpoint_slice,
    fake_proxier,
    feed,
    overall_services,
    port,
    service,
)


def restore_text(proxy, force_full: bool = False) -> str:
    """One sync's iptables-restore input, sorted as proxier_test.go compares it."""
    return proxy.sync_now(force_full).restore.save(order="sorted")


# -- chain names and probabilities ------------------------------------------------------------

def test_chain_names_match_upstream():
    # the two every cluster has
    assert service_chain("default/kubernetes:https", "tcp") == "KUBE-SVC-NPX46M4PTMTKRN6Y"
    assert service_chain("kube-system/kube-dns:dns", "udp") == "KUBE-SVC-TCOU7JCQXEZGVUNU"
    # proxier_test.go's
    assert service_chain("ns1/svc1:p80", "tcp") == "KUBE-SVC-XPGD46QRK7WJZT7O"
    assert external_chain("ns2/svc2:p80", "tcp") == "KUBE-EXT-GNZBNJ2PO5MGZ6GT"
    assert local_chain("ns2/svc2:p80", "tcp") == "KUBE-SVL-GNZBNJ2PO5MGZ6GT"
    assert firewall_chain("ns5/svc5:p80", "tcp") == "KUBE-FW-NUKIZ6OKUXPJNT4C"
    assert endpoint_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80") == "KUBE-SEP-SXIVWICOYRO3J4NJ"
    assert endpoint_chain("ns1/svc1:p80", "tcp", "10.0.0.0:80") == "KUBE-SEP-DKGQUZGBKLTPAR56"


def test_protocol_is_part_of_the_hash():
    assert service_chain("ns/dns:53", "udp") != service_chain("ns/dns:53", "tcp")


@pytest.mark.parametrize("n, text", [  # TestComputeProbability
    (1, "1.0000000000"), (2, "0.5000000000"), (3, "0.3333333333"), (10, "0.1000000000"),
    (100, "0.0100000000"), (1000, "0.0010000000"), (10000, "0.0001000000"),
    (100000, "0.0000100000"), (100001, "0.0000099999")])
def test_probability_formatting(n, text):
    assert probability(n) == text


def test_three_endpoints_get_one_third_one_half_and_the_rest():
    proxy = feed(fake_proxier(),
                 [service("ns1", "svc1", clusterIP="172.30.0.41", ports=P80)],
                 [endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1"), endpoint("10.180.0.2"),
                                                 endpoint("10.180.0.3")], P80)])
    proxy.sync_now()
    chain = proxy.rules().chain(service_chain("ns1/svc1:p80", "tcp"))
    assert [r.probability for r in chain[1:]] == [0.3333333333, 0.5, None]
    assert chain[1].text().endswith(
        "-m statistic --mode random --probability 0.3333333333 -j "
        + endpoint_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80"))
    assert "--probability" not in chain[3].text()


# -- whole tables -------------------------------------------------------------------------------

def test_overall_iptables_rules():
    proxy = feed(fake_proxier(), *overall_services())
    assert restore_text(proxy) == OVERALL_IPTABLES_RULES


FILTER_BASE = FILTER_CHAINS + dedent("""\
    {extra}-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
    -A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
    -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
    -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    COMMIT
    """)  # noqa: E501
NAT_TAIL = dedent("""\
    -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
    -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
    -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
    -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
    -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
    """)  # noqa: E501


def repeated_step(chains: str, services: str, rules: str, deleted: str = "",
                  filter_extra: str = "") -> str:
    """One of TestSyncProxyRulesRepeated's expected restore inputs."""
    return (FILTER_BASE.format(extra=filter_extra) + "*nat\n:KUBE-NODEPORTS - [0:0]\n"
            ":KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n"
            + chains + services + NAT_TAIL + rules + deleted + "COMMIT\n")


SVC1 = ('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp '
        '-d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O\n')
SVC2 = ('-A KUBE-SERVICES -m comment --comment "ns2/svc2:p8080 cluster IP" -m tcp -p tcp '
        '-d 172.30.0.42 --dport 8080 -j KUBE-SVC-2VJB64SDSIJUP5T6\n')
SVC3 = ('-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp '
        '-d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK\n')
SVC4 = ('-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp '
        '-d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK\n')


def svc3_rules(*ips: str) -> str:
    """svc3's SEP and SVC chain rules for endpoints ``ips`` (all on port 80)."""
    seps = [(ip, endpoint_chain("ns3/svc3:p80", "tcp", f"{ip}:80")) for ip in ips]
    out = ""
    for ip, sep in sorted(seps, key=lambda s: s[1]):
        out += (f"-A {sep} -m comment --comment ns3/svc3:p80 -s {ip} -j KUBE-MARK-MASQ\n"
                f"-A {sep} -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT "
                f"--to-destination {ip}:80\n")
    out += ('-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" '
            '-m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ\n')
    for i, (ip, sep) in enumerate(seps):
        stat = (f" -m statistic --mode random --probability {probability(len(seps) - i)}"
                if i < len(seps) - 1 else "")
        out += (f'-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> {ip}:80"'
                f"{stat} -j {sep}\n")
    return out


def test_sync_proxy_rules_repeated_writes_only_what_changed():
    """TestSyncProxyRulesRepeated: partial syncs rewrite only the changed Services' chains."""
    proxy = fake_proxier()
    svc2 = service("ns2", "svc2", type="ClusterIP", clusterIP="172.30.0.42",
                   ports=[port("p8080", 8080)])
    feed(proxy, [service("ns1", "svc1", type="ClusterIP", clusterIP="172.30.0.41", ports=P80),
                 svc2],
         [endpoint_slice("ns1", "svc1", [endpoint("10.0.1.1")], P80),
          endpoint_slice("ns2", "svc2", [endpoint("10.0.2.1")], [port("p8080", 8080)])])
    assert restore_text(proxy) == repeated_step(
        ":KUBE-SEP-SNQ3ZNILQDEJNDQO - [0:0]\n:KUBE-SEP-UHEGFW77JX3KXTOV - [0:0]\n"
        ":KUBE-SVC-2VJB64SDSIJUP5T6 - [0:0]\n:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]\n",
        SVC1 + SVC2, dedent("""\
        -A KUBE-SEP-SNQ3ZNILQDEJNDQO -m comment --comment ns1/svc1:p80 -s 10.0.1.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-SNQ3ZNILQDEJNDQO -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80
        -A KUBE-SEP-UHEGFW77JX3KXTOV -m comment --comment ns2/svc2:p8080 -s 10.0.2.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-UHEGFW77JX3KXTOV -m comment --comment ns2/svc2:p8080 -m tcp -p tcp -j DNAT --to-destination 10.0.2.1:8080
        -A KUBE-SVC-2VJB64SDSIJUP5T6 -m comment --comment "ns2/svc2:p8080 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 8080 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-2VJB64SDSIJUP5T6 -m comment --comment "ns2/svc2:p8080 -> 10.0.2.1:8080" -j KUBE-SEP-UHEGFW77JX3KXTOV
        -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.0.1.1:80" -j KUBE-SEP-SNQ3ZNILQDEJNDQO
        """))  # noqa: E501

    # A new Service and its endpoints: only its SVC and SEP chains are written.
    eps3 = endpoint_slice("ns3", "svc3", [endpoint("10.0.3.1")], P80)
    feed(proxy, [service("ns3", "svc3", type="ClusterIP", clusterIP="172.30.0.43", ports=P80)],
         [eps3])
    assert restore_text(proxy) == repeated_step(
        ":KUBE-SEP-BSWRHOQ77KEXZLNL - [0:0]\n:KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]\n",
        SVC1 + SVC2 + SVC3, svc3_rules("10.0.3.1"))

    # Delete a Service: its chains are flushed and deleted; the others are left alone.
    proxy.on_service_update(svc2, None)
    assert restore_text(proxy) == repeated_step(
        ":KUBE-SEP-UHEGFW77JX3KXTOV - [0:0]\n:KUBE-SVC-2VJB64SDSIJUP5T6 - [0:0]\n",
        SVC1 + SVC3, "", "-X KUBE-SEP-UHEGFW77JX3KXTOV\n-X KUBE-SVC-2VJB64SDSIJUP5T6\n")

    # A Service with no endpoints yet: only the REJECT rule.
    feed(proxy, [service("ns4", "svc4", type="ClusterIP", clusterIP="172.30.0.44", ports=P80)])
    assert restore_text(proxy) == repeated_step(
        "", SVC1 + SVC3, "", filter_extra='-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 '
        'has no endpoints" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j REJECT\n')

    # ... then its endpoints.
    feed(proxy, slices=[endpoint_slice("ns4", "svc4", [endpoint("10.0.4.1")], P80)])
    assert restore_text(proxy) == repeated_step(
        ":KUBE-SEP-AYCN5HPXMIRJNJXU - [0:0]\n:KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]\n",
        SVC1 + SVC3 + SVC4, dedent("""\
        -A KUBE-SEP-AYCN5HPXMIRJNJXU -m comment --comment ns4/svc4:p80 -s 10.0.4.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-AYCN5HPXMIRJNJXU -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.4.1:80
        -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.0.4.1:80" -j KUBE-SEP-AYCN5HPXMIRJNJXU
        """))  # noqa: E501

    # An endpoint of svc3 changes: its SVC and SEP chains are rewritten, the old SEP deleted.
    eps3b = endpoint_slice("ns3", "svc3", [endpoint("10.0.3.2")], P80)
    proxy.on_endpoint_slice_update(eps3b)
    assert restore_text(proxy) == repeated_step(
        ":KUBE-SEP-BSWRHOQ77KEXZLNL - [0:0]\n:KUBE-SEP-DKCFIS26GWF2WLWC - [0:0]\n"
        ":KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]\n",
        SVC1 + SVC3 + SVC4, svc3_rules("10.0.3.2"), "-X KUBE-SEP-BSWRHOQ77KEXZLNL\n")

    # An endpoint more.
    proxy.on_endpoint_slice_update(
        endpoint_slice("ns3", "svc3", [endpoint("10.0.3.2"), endpoint("10.0.3.3")], P80))
    assert restore_text(proxy) == repeated_step(
        ":KUBE-SEP-DKCFIS26GWF2WLWC - [0:0]\n:KUBE-SEP-JVVZVJ7BSEPPRNBS - [0:0]\n"
        ":KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]\n",
        SVC1 + SVC3 + SVC4, svc3_rules("10.0.3.2", "10.0.3.3"))

    # Nothing new: no SVC or SEP chain is written.
    assert restore_text(proxy) == repeated_step("", SVC1 + SVC3 + SVC4, "")
    assert proxy.syncs[-1].rules_added == proxy.syncs[-1].rules_removed == 0
    # The kernel still has every chain.
    assert len(proxy.rules().chain("KUBE-SVC-X27LE4BHSL4DOUIK")) == 3


def test_sync_proxy_rules_large_cluster_mode_drops_endpoint_comments():
    """TestSyncProxyRulesLargeClusterMode: over 1000 endpoints, SEP rules lose comments."""
    proxy = fake_proxier(masquerade_all=True)
    feed(proxy, [service("ns1", "svc1", type="ClusterIP", clusterIP="172.30.0.41", ports=P80),
                 service("ns2", "svc2", type="ClusterIP", clusterIP="172.30.0.42",
                         ports=[port("p8080", 8080)]),
                 service("ns3", "svc3", type="ClusterIP", clusterIP="172.30.0.43",
                         ports=[port("p8081", 8081)])],
         [endpoint_slice("ns1", "svc1", [endpoint(f"10.0.{i % 256}.{i // 256}")
                                         for i in range(499)], P80),
          endpoint_slice("ns2", "svc2", [endpoint(f"10.1.{i % 256}.{i // 256}")
                                         for i in range(499)], [port("p8080", 8080)])])

    def dnat(text: str, ip: str) -> tuple[str, int, int]:
        lines = [line for line in text.splitlines()
                 if line.startswith("-A KUBE-SEP-") and "-j DNAT" in line]
        first = next((line for line in lines if ip in line), "")
        return first, len(lines), sum("--comment" in line for line in lines)

    first, count, comments = dnat(restore_text(proxy), "10.0.0.0")
    assert first == ("-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp "
                     "-p tcp -j DNAT --to-destination 10.0.0.0:80")
    assert (count, comments) == (998, 998)
    feed(proxy, slices=[endpoint_slice("ns3", "svc3", [endpoint("203.0.113.4"),
                                                       endpoint("203.0.113.8"),
                                                       endpoint("203.0.113.12")],
                                       [port("p8081", 8081)])])
    first, count, comments = dnat(restore_text(proxy), "203.0.113.4")
    assert first == ("-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination "
                     "203.0.113.4:8081")
    assert (count, comments) == (3, 0)  # a partial sync: only svc3's chains
    first, count, comments = dnat(restore_text(proxy, force_full=True), "10.0.0.0")
    assert first == ("-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT "
                     "--to-destination 10.0.0.0:80")
    assert (count, comments) == (1001, 0)


@pytest.mark.parametrize("random_fully", [False, True])
def test_masquerade_rule(random_fully):
    """TestMasqueradeRule: --random-fully only where iptables has it."""
    proxy = fake_proxier(random_fully=random_fully)
    proxy.sync_now()
    assert "\n".join(r.text() for r in proxy.rules().chain("KUBE-POSTROUTING")) == (
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
        "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n"
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE" + (" --random-fully" if random_fully else ""))


@pytest.mark.parametrize("nfacct, liberal, drop", [  # TestDropInvalidRule
    (False, False, "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP"),
    (True, False, "-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name "
                  "ct_state_invalid_dropped_pkts -j DROP"),
    (False, True, None)])
def test_drop_invalid_rule(nfacct, liberal, drop):
    config = ProxyConfig("test-node", "192.168.0.2", nfacct=nfacct, conntrack_tcp_liberal=liberal)
    rules = sync_rules({}, {}, config).restore.chain("KUBE-FORWARD", "filter")
    expected = ([drop] if drop else []) + [
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark '
        "--mark 0x4000/0x4000 -j ACCEPT",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" '
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
    assert [r.text() for r in rules] == expected


@pytest.mark.parametrize("localhost", [True, False])
def test_localhost_nodeports_firewall_and_catch_all(localhost):
    """TestNodePorts: the anti-martian rule and the loopback exclusion follow the flag."""
    config = ProxyConfig("test-node", "192.168.0.2", localhost_nodeports=localhost)
    restore = sync_rules({}, {}, config).restore
    assert bool(restore.chain("KUBE-FIREWALL", "filter")) == localhost
    last = restore.chain("KUBE-SERVICES")[-1].text()
    assert last.endswith("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS" if localhost
                         else "-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS")


def test_headless_and_external_name_services_get_no_rules():
    """TestBuildServiceMapServiceHeadless / ...TypeExternalName: nothing to proxy."""
    proxy = feed(fake_proxier(), [
        service("ns", "headless", clusterIP="None", ports=[port("rpc", 1234, "UDP")]),
        service("ns", "external", type="ExternalName", clusterIP="172.30.55.4",
                externalName="foo2.bar.com", ports=[port("blah", 1235, "UDP")])])
    result = proxy.sync_now()
    assert proxy.svc_port_map == {}
    assert not any("ns/" in r.text() for _, r in result.restore.rules())


def test_service_with_no_endpoints_is_rejected_on_every_address():
    """TestNoEndpointsReject: ClusterIP, external IP, NodePort and LB IP all REJECT."""
    proxy = feed(fake_proxier(), [service(
        "ns1", "svc1", type="LoadBalancer", clusterIP="172.30.0.41",
        externalIPs=["192.168.99.11"], ports=[port("p80", 80, nodePort=3001)],
        status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})])
    restore = proxy.sync_now().restore
    texts = [r.text() for _, r in restore.rules("filter") if "has no endpoints" in r.text()]
    assert texts == [
        '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp '
        "-d 172.30.0.41 --dport 80 -j REJECT",
        '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" '
        "-m tcp -p tcp -d 192.168.99.11 --dport 80 -j REJECT",
        '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" '
        "-m tcp -p tcp -d 1.2.3.4 --dport 80 -j REJECT",
        '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" '
        "-m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j REJECT"]
    assert restore.chain("KUBE-NODEPORTS") == ()


def test_unnamed_port_chains_hash_the_name_without_colon():
    proxy = feed(fake_proxier(),
                 [service("default", "web", clusterIP="10.96.0.20", ports=[port("", 80)])],
                 [endpoint_slice("default", "web", [endpoint("10.244.1.5")],
                                 [port("", 8080)])])
    proxy.sync_now()
    chain = service_chain("default/web", "tcp")
    assert [r.text() for r in proxy.rules().chain(chain)] == [
        f'-A {chain} -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.20 '
        "--dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ",
        f'-A {chain} -m comment --comment "default/web -> 10.244.1.5:8080" -j '
        + endpoint_chain("default/web", "tcp", "10.244.1.5:8080")]


# -- the rule set as text, table, diff ------------------------------------------------------------

def test_kernel_state_prints_like_iptables_save():
    proxy = feed(fake_proxier(random_fully=True),
                 [service("ns1", "svc1", clusterIP="172.30.0.41", ports=P80)],
                 [endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1")], P80)])
    proxy.sync_now()
    text = str(proxy.rules())
    assert text.startswith("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n"
                           ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
                           ":KUBE-MARK-MASQ - [0:0]\n")
    assert '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n' \
        in text
    assert text.endswith("COMMIT\n") and "*filter" not in text
    # every table, mangle first, with the hooks kube-proxy ensures
    everything = proxy.rules(None).save()
    assert everything.index("*filter") < everything.index("*nat")
    assert ("-A INPUT -m conntrack --ctstate NEW -m comment --comment "
            '"kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES') \
        in everything


def test_parse_reads_back_what_save_prints():
    proxy = feed(fake_proxier(), *overall_services())
    proxy.sync_now()
    state = proxy.rules(None)
    assert RuleSet.parse(state.save()) == state
    assert RuleSet.parse(OVERALL_IPTABLES_RULES).save(order="sorted") == OVERALL_IPTABLES_RULES


def test_parse_rejects_garbage_with_the_line_number():
    with pytest.raises(ValueError, match="line 2: cannot read 'junk'"):
        RuleSet.parse("*nat\njunk\nCOMMIT\n")
    with pytest.raises(ValueError, match="table 'nat' has no COMMIT"):
        RuleSet.parse("*nat\n:KUBE-SERVICES - [0:0]\n")


def test_save_refuses_unknown_tables_and_orders():
    with pytest.raises(ValueError, match="no table 'raw'; tables: nat"):
        RuleSet.parse("*nat\nCOMMIT\n").save("raw")
    with pytest.raises(ValueError, match="order must be one of iptables-save, sorted"):
        RuleSet().save(order="random")


def test_frame_has_a_row_per_rule():
    proxy = feed(fake_proxier(), *overall_services())
    proxy.sync_now()
    frame = proxy.rules().frame()
    assert list(frame.columns) == FRAME_COLUMNS
    assert len(frame) == len(proxy.rules())
    svc4 = frame[frame.chain == "KUBE-SVC-4SW47YFZTEDKD3PK"]
    assert list(svc4.probability.fillna(-1)) == [-1, 0.5, -1]
    dnat = frame[(frame.target == "DNAT") & (frame.service == "ns4/svc4:p80")]
    assert sorted(dnat.to_destination) == ["10.180.0.4:80", "10.180.0.5:80"]
    assert frame.loc[frame.chain == "KUBE-SERVICES", "match"].iloc[0] == \
        "-m tcp -p tcp -d 172.30.0.41 --dport 80"


def test_diff_shows_rules_added_and_removed():
    old = RuleSet.parse("*nat\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j DNAT\nCOMMIT\n")
    new = RuleSet.parse("*nat\n:A - [0:0]\n:C - [0:0]\n-A A -j C\n-A A -j C\n-A C -j DNAT\n"
                        "COMMIT\n")
    changes = diff(old, new)
    assert changes.chains_added == [(NAT, "C")] and changes.chains_removed == [(NAT, "B")]
    assert [r.text() for _, r in changes.removed] == ["-A A -j B", "-A B -j DNAT"]
    assert [r.text() for _, r in changes.added] == ["-A A -j C", "-A A -j C", "-A C -j DNAT"]
    assert str(changes).splitlines()[:2] == ["-:B (nat)", "+:C (nat)"]
    assert list(changes.frame().change) == ["-", "-", "+", "+", "+"]
    assert not diff(new, new)


def test_restore_is_noflush_and_refuses_to_delete_builtin_chains():
    state = RuleSet.parse("*nat\n:PREROUTING ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n"
                          "-A A -j B\n-A B -j DNAT\nCOMMIT\n")
    after = state.restore(RuleSet.parse("*nat\n:A - [0:0]\n-A A -j RETURN\nCOMMIT\n"))
    assert [r.text() for r in after.chain("A")] == ["-A A -j RETURN"]
    assert after.chain("B") is state.chain("B")  # untouched, shared
    gone = after.restore(RuleSet.parse("*nat\n:B - [0:0]\n-X B\nCOMMIT\n"))
    assert "B" not in gone.table(NAT).chains
    with pytest.raises(ValueError, match="cannot delete built-in chain PREROUTING"):
        state.restore(RuleSet.parse("*nat\n-X PREROUTING\nCOMMIT\n"))


def test_rule_quotes_comments_with_spaces_only():
    rule = Rule("KUBE-SEP-X", ("-m", "comment", "--comment", "ns/svc:p", "-s", "10.0.0.1",
                               "-j", "KUBE-MARK-MASQ"))
    assert rule.text() == ("-A KUBE-SEP-X -m comment --comment ns/svc:p -s 10.0.0.1 "
                           "-j KUBE-MARK-MASQ")
    assert Rule("C", ("-m", "comment", "--comment", "a b")).text() == \
        '-A C -m comment --comment "a b"'


def test_proxy_config_rejects_bad_addresses():
    with pytest.raises(ValueError, match="node_ip 'node-1' is not an IPv4 address"):
        ProxyConfig("node-1", "node-1")
    with pytest.raises(ValueError, match="cluster_cidr '10.244.0.0/33'"):
        ProxyConfig("node-1", "172.18.0.3", cluster_cidr="10.244.0.0/33")
