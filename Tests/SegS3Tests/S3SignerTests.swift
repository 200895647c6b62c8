import Foundation
import Testing

@testable import SegS3

/// Signature Version 4 against the four worked examples AWS publishes for S3
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Examples: Signature Calculations"):
/// their key pair, date and requests, and their published string-to-sign digests and signatures.
@Suite struct S3SignerTests {
    static let signer = S3Signer(
        credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    /// 2013-05-24T00:00:00Z.
    static let date = Date(timeIntervalSince1970: 1_369_353_600)
    static let host = ("host", "examplebucket.s3.amazonaws.com")

    struct Example: Sendable, CustomTestStringConvertible {
        var name: String
        var method: String
        var path: String
        var query: [(String, String)]
        var headers: [(String, String)]
        var payloadHash: String
        /// The last line of AWS's string to sign: the canonical request's SHA-256.
        var canonicalDigest: String
        var authorization: String
        var testDescription: String { name }
    }

    static let examples = [
        Example(
            name: "GET Object (a range)", method: "GET", path: "/test.txt", query: [], headers: [host, ("Range", "bytes=0-9")],
            payloadHash: S3Signer.emptyPayloadHash, canonicalDigest: "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        ),
        Example(
            name: "PUT Object (a $ in the key)", method: "PUT", path: "/test$file.text", query: [],
            headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), host, ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            canonicalDigest: "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        ),
        Example(
            name: "GET Bucket lifecycle (a bare query name)", method: "GET", path: "/", query: [("lifecycle", "")], headers: [host],
            payloadHash: S3Signer.emptyPayloadHash, canonicalDigest: "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        ),
        Example(
            name: "GET Bucket (list objects, query out of order)", method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
            headers: [host], payloadHash: S3Signer.emptyPayloadHash,
            canonicalDigest: "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        ),
    ]

    @Test(arguments: examples)
    func awsPublishedExample(_ example: Example) {
        let signed = Self.signer.sign(
            method: example.method, path: example.path, query: example.query, headers: example.headers, payloadHash: example.payloadHash,
            date: Self.date)
        let headers = Dictionary(signed, uniquingKeysWith: { $1 })
        #expect(headers["x-amz-date"] == "20130524T000000Z")
        #expect(headers["x-amz-content-sha256"] == example.payloadHash)
        #expect(headers["authorization"] == example.authorization)
        var all = example.headers
        all += [("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", example.payloadHash)]
        let canonical = Self.signer.canonicalRequest(
            method: example.method, path: example.path, query: example.query, headers: all, payloadHash: example.payloadHash)
        let toSign = Self.signer.stringToSign(
            canonicalRequest: canonical.text, timestamp: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request")
        #expect(toSign.split(separator: "\n").last.map(String.init) == example.canonicalDigest)
    }

    @Test func keysAreEncodedOnceKeepingSlashesAndQueriesSorted() {
        #expect(S3Signer.encodedPath("/bucket/a b/ü+x~y") == "/bucket/a%20b/%C3%BC%2Bx~y")
        #expect(S3Signer.encodedPath("") == "/")
        #expect(
            S3Signer.canonicalQuery([("prefix", "a/b"), ("continuation-token", "x+y="), ("list-type", "2")])
                == "continuation-token=x%2By%3D&list-type=2&prefix=a%2Fb")
        #expect(S3Signer.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    }
}
