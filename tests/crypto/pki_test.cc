#include "crypto/pki.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.h"
#include "crypto/cert_sign.h"
#include "crypto/tls.h"

namespace passerelle::crypto {
namespace {

TEST(PkiTest, IssuedNodeCertificateCarriesNodeIdAsCommonName) {
  DeterministicRandom random(1);
  auto ca = CreateCa({.name = "Test CA"}, random);
  ASSERT_TRUE(ca.ok()) << ca.status().ToString();
  auto node = IssueCertificate(*ca, CertRole::kNode, "fr-chu", {}, random);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  auto info = ReadCertificateInfo(node->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject_cn, "fr-chu");
  EXPECT_EQ(info->issuer_cn, "Test CA");
  EXPECT_FALSE(info->is_ca);
  EXPECT_GT(info->not_after_unix, info->not_before_unix);
  EXPECT_TRUE(CheckKeyMatchesCertificate(node->key_pem, node->cert_pem).ok());
  EXPECT_FALSE(CheckKeyMatchesCertificate(ca->key_pem, node->cert_pem).ok());
  auto ca_info = ReadCertificateInfo(ca->cert_pem);
  ASSERT_TRUE(ca_info.ok());
  EXPECT_TRUE(ca_info->is_ca);
}

TEST(PkiTest, RefusesBadNodeIds) {
  auto ca = CreateCa({});
  ASSERT_TRUE(ca.ok());
  for (const char* bad : {"", "FR", "-fr", "fr node", "fr/../x", "é"}) {
    auto r = IssueCertificate(*ca, CertRole::kNode, bad, {});
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateNodeId("qc_1-a").ok());
}

TEST(PkiTest, DirectoryLayoutAndPrivateKeyMode) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(InitCaDir(dir->path(), {}).ok());
  // A second init must not replace the federation's CA.
  auto again = InitCaDir(dir->path(), {});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  auto files = IssueToDir(dir->path(), CertRole::kHub, "hub.example.org", {});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  struct stat st {};
  ASSERT_EQ(stat(files->key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir->path() / "ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(IssueToDir(dir->path(), CertRole::kHub, "hub.example.org", {}).ok());
  auto tls = LoadTlsMaterial(dir->path() / "ca.crt", files->cert, files->key);
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(TlsContext::Server(*tls, ClientCertMode::kOptional).ok());
  EXPECT_TRUE(TlsContext::Client(*tls).ok());
}

TEST(PkiTest, TlsContextRefusesMismatchedKey) {
  auto ca = CreateCa({});
  ASSERT_TRUE(ca.ok());
  auto a = IssueCertificate(*ca, CertRole::kNode, "a", {});
  auto b = IssueCertificate(*ca, CertRole::kNode, "b", {});
  ASSERT_TRUE(a.ok() && b.ok());
  auto ctx = TlsContext::Client({ca->cert_pem, a->cert_pem, b->key_pem});
  EXPECT_FALSE(ctx.ok());
  EXPECT_FALSE(TlsContext::Client({"", a->cert_pem, a->key_pem}).ok());
}

}  // namespace
}  // namespace passerelle::crypto

// Signatures with a node's certificate key (crypto/cert_sign.h): what a verifier accepts, what it
// refuses, and that the cache of parsed keys and CA stores keeps keys and CAs apart.
namespace passerelle::crypto {
namespace {

TEST(CertSignTest, VerifiesTheNodeAndRefusesEverythingElse) {
  auto ca = CreateCa({.name = "Federation CA"});
  auto other_ca = CreateCa({.name = "Other CA"});
  auto fr = IssueCertificate(*ca, CertRole::kNode, "fr", {});
  auto qc = IssueCertificate(*ca, CertRole::kNode, "qc", {});
  auto hub = IssueCertificate(*ca, CertRole::kHub, "hub", {});
  auto rogue = IssueCertificate(*other_ca, CertRole::kNode, "fr", {});
  ASSERT_TRUE(fr.ok() && qc.ok() && hub.ok() && rogue.ok());
  const std::vector<uint8_t> msg = {1, 2, 3, 4};
  for (int round = 0; round < 2; ++round) {  // the second time from the caches
    auto sig_fr = SignWithCertificateKey(fr->key_pem, msg);
    auto sig_qc = SignWithCertificateKey(qc->key_pem, msg);
    ASSERT_TRUE(sig_fr.ok() && sig_qc.ok());
    EXPECT_TRUE(VerifyCertificateSignature(ca->cert_pem, fr->cert_pem, "fr", msg, *sig_fr).ok());
    EXPECT_TRUE(VerifyCertificateSignature(ca->cert_pem, qc->cert_pem, "qc", msg, *sig_qc).ok());
    // Another node's key, another node's name, another message.
    EXPECT_EQ(VerifyCertificateSignature(ca->cert_pem, fr->cert_pem, "fr", msg, *sig_qc).code(),
              StatusCode::kUnauthenticated);
    Status named = VerifyCertificateSignature(ca->cert_pem, fr->cert_pem, "qc", msg, *sig_fr);
    EXPECT_NE(named.message().find("issued to \"fr\""), std::string::npos) << named.ToString();
    std::vector<uint8_t> other = msg;
    other[0] ^= 1;
    EXPECT_FALSE(VerifyCertificateSignature(ca->cert_pem, fr->cert_pem, "fr", other, *sig_fr).ok());
    // A certificate of another CA, checked against ours; ours checked against another CA.
    auto sig_rogue = SignWithCertificateKey(rogue->key_pem, msg);
    ASSERT_TRUE(sig_rogue.ok());
    EXPECT_FALSE(
        VerifyCertificateSignature(ca->cert_pem, rogue->cert_pem, "fr", msg, *sig_rogue).ok());
    EXPECT_FALSE(
        VerifyCertificateSignature(other_ca->cert_pem, fr->cert_pem, "fr", msg, *sig_fr).ok());
    // The hub's server certificate is not a node certificate.
    auto sig_hub = SignWithCertificateKey(hub->key_pem, msg);
    ASSERT_TRUE(sig_hub.ok());
    EXPECT_FALSE(
        VerifyCertificateSignature(ca->cert_pem, hub->cert_pem, "hub", msg, *sig_hub).ok());
  }
  EXPECT_FALSE(SignWithCertificateKey("not a key", msg).ok());
  EXPECT_EQ(VerifyCertificateSignature("no CA here", fr->cert_pem, "fr", msg, {}).code(),
            StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace passerelle::crypto
