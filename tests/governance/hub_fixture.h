// A real hub on loopback (port chosen by the OS) over a test governance World, with an ephemeral
// PKI: a client for people (bearer tokens, no certificate) and one client per node (its TLS client
// certificate). Used by the endpoint role tests and the HTTP lifecycle test.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/files.h"
#include "crypto/pki.h"
#include "crypto/tls.h"
#include "hub/hub.h"
#include "net/client.h"
#include "world.h"

namespace passerelle::governance::testing {

class HubHarness {
 public:
  // Starts a hub whose federation is `nodes` (each also gets a client certificate; pass extra
  // names in `extra_certs` for nodes the hub does not know).
  HubHarness(GovernanceService& gov, Clock& clock, RandomSource& random,
             std::vector<std::string> nodes, std::vector<std::string> extra_certs = {}) {
    auto dir = TempDir::Create("passerelle-gov-hub");
    EXPECT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    auto ca = crypto::CreateCa({.name = "test CA", .valid_days = 2});
    EXPECT_TRUE(ca.ok()) << ca.status().ToString();
    ca_ = *ca;
    auto hub_cert =
        crypto::IssueCertificate(ca_, crypto::CertRole::kHub, "localhost", {.valid_days = 2});
    EXPECT_TRUE(hub_cert.ok());
    hub::HubOptions ho;
    ho.host = "127.0.0.1";
    ho.port = 0;
    ho.state_path = dir_->path() / "hub-state.sqlite";
    ho.nodes = nodes;
    ho.tls = {ca_.cert_pem, hub_cert->cert_pem, hub_cert->key_pem};
    ho.deadline_check_interval = std::chrono::milliseconds(50);
    auto h = hub::Hub::Create(ho, gov, analysis::BuiltinRegistry(), clock, random);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    hub_ = std::move(h).value();
    hub_->Start();
    url_ = "https://127.0.0.1:" + std::to_string(hub_->port());
    people_ = Client("", "");
    nodes.insert(nodes.end(), extra_certs.begin(), extra_certs.end());
    for (const auto& n : nodes) {
      auto cert = crypto::IssueCertificate(ca_, crypto::CertRole::kNode, n, {.valid_days = 2});
      EXPECT_TRUE(cert.ok());
      node_certs_[n] = *cert;
      node_clients_[n] = Client(cert->cert_pem, cert->key_pem);
    }
  }
  ~HubHarness() {
    if (hub_) hub_->Stop();
  }

  // A person's request (token may be empty: no Authorization header).
  net::HttpResponse Person(const std::string& token, const std::string& method,
                           const std::string& target, const std::string& body = "") {
    net::Headers h;
    if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
    auto r = people_->Send(method, target, body, h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : net::HttpResponse{};
  }
  // A node's request, with its client certificate.
  net::HttpResponse Node(const std::string& node, const std::string& method,
                         const std::string& target, const std::string& body = "",
                         net::Headers headers = {}) {
    auto r = node_clients_.at(node)->Send(method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : net::HttpResponse{};
  }

  const std::string& url() const { return url_; }
  const crypto::KeyAndCert& ca() const { return ca_; }
  const crypto::KeyAndCert& node_cert(const std::string& n) const { return node_certs_.at(n); }
  const std::filesystem::path& dir() const { return dir_->path(); }
  hub::Hub& hub() { return *hub_; }

 private:
  std::unique_ptr<net::HttpsClient> Client(const std::string& cert, const std::string& key) {
    auto tls = crypto::TlsContext::Client({ca_.cert_pem, cert, key});
    EXPECT_TRUE(tls.ok()) << tls.status().ToString();
    net::ClientOptions co;
    co.base_url = url_;
    auto c = net::HttpsClient::Create(co, *tls);
    EXPECT_TRUE(c.ok());
    return std::move(c).value();
  }

  std::optional<TempDir> dir_;
  crypto::KeyAndCert ca_;
  std::unique_ptr<hub::Hub> hub_;
  std::string url_;
  std::unique_ptr<net::HttpsClient> people_;
  std::map<std::string, crypto::KeyAndCert> node_certs_;
  std::map<std::string, std::unique_ptr<net::HttpsClient>> node_clients_;
};

}  // namespace passerelle::governance::testing
