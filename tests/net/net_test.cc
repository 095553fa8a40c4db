#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "crypto/pki.h"
#include "crypto/tls.h"
#include "net/client.h"
#include "net/request_parse.h"
#include "net/router.h"
#include "net/server.h"

namespace passerelle::net {
namespace {

using namespace std::chrono_literals;

struct Pki {
  crypto::KeyAndCert ca, hub, node;
};

Pki MakePki(const std::string& ca_name = "Test CA") {
  Pki p;
  p.ca = *crypto::CreateCa({.name = ca_name});
  p.hub = *crypto::IssueCertificate(p.ca, crypto::CertRole::kHub, "hub", {});
  p.node = *crypto::IssueCertificate(p.ca, crypto::CertRole::kNode, "node-a", {});
  return p;
}

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = MakePki();
    router_.Add("GET", "/v1/whoami", [](HttpRequest&& r, const PathParams&, Responder resp) {
      resp.Send(HttpResponse::Json(200, "{\"cn\":\"" + r.peer.cert_cn + "\"}"));
    });
    router_.Add(
        "POST", "/v1/echo/{what}", [](HttpRequest&& r, const PathParams& p, Responder resp) {
          resp.Send(HttpResponse::Json(200, p.at("what") + ":" + std::to_string(r.body.size())));
        });
    router_.Add("GET", "/v1/later", [this](HttpRequest&&, const PathParams&, Responder resp) {
      auto shared = std::make_shared<Responder>(std::move(resp));
      server_->RunAfter(50ms, [shared] { shared->Send(HttpResponse::Json(200, "late")); });
    });
    router_.Add("GET", "/v1/forever", [this](HttpRequest&&, const PathParams&, Responder resp) {
      parked_.push_back(std::make_shared<Responder>(std::move(resp)));
    });
    auto tls = crypto::TlsContext::Server({pki_.ca.cert_pem, pki_.hub.cert_pem, pki_.hub.key_pem},
                                          crypto::ClientCertMode::kOptional);
    ASSERT_TRUE(tls.ok()) << tls.status().ToString();
    ServerOptions opts;
    opts.max_body_bytes = 1000;
    auto s = HttpsServer::Create(opts, *tls, [this](HttpRequest&& r, Responder resp) {
      router_.Dispatch(std::move(r), std::move(resp));
    });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    ASSERT_NE(server_->port(), 0);
    server_->Start();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    parked_.clear();
  }

  std::unique_ptr<HttpsClient> Client(const crypto::TlsMaterial& m) {
    auto tls = crypto::TlsContext::Client(m);
    EXPECT_TRUE(tls.ok()) << tls.status().ToString();
    ClientOptions o;
    o.base_url = "https://127.0.0.1:" + std::to_string(server_->port());
    o.request_timeout = 5s;
    auto c = HttpsClient::Create(o, *tls);
    EXPECT_TRUE(c.ok());
    return std::move(c).value();
  }

  Pki pki_;
  Router router_;
  std::unique_ptr<HttpsServer> server_;
  std::vector<std::shared_ptr<Responder>> parked_;  // loop thread only
};

TEST_F(NetTest, NodeCertificateCommonNameReachesHandler) {
  auto c = Client({pki_.ca.cert_pem, pki_.node.cert_pem, pki_.node.key_pem});
  auto r = c->Send("GET", "/v1/whoami");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"cn\":\"node-a\"}");
  // The connection is kept alive and reused.
  auto r2 = c->Send("POST", "/v1/echo/x", "hello");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->body, "x:5");
}

TEST_F(NetTest, PersonWithoutCertificateHasNoIdentity) {
  auto c = Client({pki_.ca.cert_pem, "", ""});
  auto r = c->Send("GET", "/v1/whoami");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "{\"cn\":\"\"}");
}

TEST_F(NetTest, CertificateFromAnotherCaIsRefusedInHandshake) {
  Pki other = MakePki("Rogue CA");
  // Trusts the right hub, but presents a node certificate the federation CA did not issue.
  auto c = Client({pki_.ca.cert_pem, other.node.cert_pem, other.node.key_pem});
  auto r = c->Send("GET", "/v1/whoami");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

TEST_F(NetTest, HubFromAnotherCaIsRefusedByClient) {
  Pki other = MakePki("Rogue CA");
  auto c = Client({other.ca.cert_pem, "", ""});
  auto r = c->Send("GET", "/v1/whoami");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("handshake"), std::string::npos) << r.status().ToString();
}

TEST_F(NetTest, OversizeBodyGets413WithMessage) {
  auto c = Client({pki_.ca.cert_pem, "", ""});
  auto r = c->Send("POST", "/v1/echo/x", std::string(5000, 'x'));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("exceeds the limit of 1000 bytes"), std::string::npos) << r->body;
  // The client reconnects for the next request.
  auto r2 = c->Send("POST", "/v1/echo/y", "ok");
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->body, "y:2");
}

TEST_F(NetTest, UnknownPathAndMethod) {
  auto c = Client({pki_.ca.cert_pem, "", ""});
  auto r = c->Send("GET", "/v1/nothing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  auto r2 = c->Send("GET", "/v1/echo/x");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 405);
  auto r3 = c->Call("GET", "/v1/nothing");
  EXPECT_EQ(r3.status().code(), StatusCode::kNotFound);
}

TEST_F(NetTest, DeferredAnswer) {
  auto c = Client({pki_.ca.cert_pem, "", ""});
  auto r = c->Send("GET", "/v1/later");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "late");
}

TEST_F(NetTest, ClientTimeoutAndCancelDoNotHang) {
  auto c = Client({pki_.ca.cert_pem, "", ""});
  auto start = std::chrono::steady_clock::now();
  auto r = c->Send("GET", "/v1/forever", {}, {}, 200ms);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    c->Cancel();
  });
  auto r2 = c->Send("GET", "/v1/forever", {}, {}, 5s);
  canceller.join();
  EXPECT_EQ(r2.status().code(), StatusCode::kAborted) << r2.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(NetTest, StopAnswersParkedRequestsByClosing) {
  auto c = Client({pki_.ca.cert_pem, "", ""});
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    server_->Stop();
  });
  auto r = c->Send("GET", "/v1/forever", {}, {}, 5s);
  stopper.join();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

TEST(HttpTest, ParseUrlAndQuery) {
  auto u = ParseUrl("https://127.0.0.1:8443");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8443);
  EXPECT_FALSE(ParseUrl("http://x:1").ok());
  EXPECT_FALSE(ParseUrl("https://x:99999").ok());
  auto q = ParseQuery("wait=20&name=a%20b+c");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("wait"), "20");
  EXPECT_EQ(q->at("name"), "a b c");
  EXPECT_FALSE(ParseQuery("a=%zz").ok());
  EXPECT_FALSE(ParseQuery("a=%2").ok());
}

TEST(RequestParseTest, ParsesLikeTheServer) {
  auto r = ParseHttpRequest(
      "POST /v1/tasks/t-1/result?wait=2&x=a%20b HTTP/1.1\r\nHost: h\r\nIdempotency-Key: K\r\n"
      "Content-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/v1/tasks/t-1/result");
  EXPECT_EQ(r->target, "/v1/tasks/t-1/result?wait=2&x=a%20b");
  EXPECT_EQ(r->query.at("x"), "a b");
  EXPECT_EQ(r->Header("idempotency-key"), "K");  // names folded to lower case
  EXPECT_EQ(r->body, "{}");

  auto chunked = ParseHttpRequest(
      "POST /v1/studies HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\n{\"\r\n3\r\na\":\r\n2\r\n1}\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.ok()) << chunked.status().ToString();
  EXPECT_EQ(chunked->body, "{\"a\":1}");
}

TEST(RequestParseTest, RefusesWhatTheServerRefuses) {
  auto code = [](std::string_view bytes, RequestLimits limits = {}) {
    auto r = ParseHttpRequest(bytes, limits);
    return r.ok() ? StatusCode::kOk : r.status().code();
  };
  EXPECT_EQ(code("GET /v1/health HTTP/1.1\r\nHost: h\r\n"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("NOT HTTP\r\n\r\n"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET /x?a=%zz HTTP/1.1\r\nHost: h\r\n\r\n"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
            StatusCode::kInvalidArgument);  // one request, nothing after it
  EXPECT_EQ(
      code("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890", {.max_body_bytes = 10}),
      StatusCode::kOutOfRange);
  EXPECT_EQ(
      code("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", {.max_header_bytes = 64}),
      StatusCode::kOutOfRange);
  EXPECT_EQ(code("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), StatusCode::kOk);
}

}  // namespace
}  // namespace passerelle::net
