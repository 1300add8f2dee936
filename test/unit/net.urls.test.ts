import { describe, expect, it } from "vitest";
import { AllowList, NO_EXCEPTIONS } from "../../src/net/addresses.js";
import { checkUrlLiterally, type UrlRules } from "../../src/net/urls.js";

const media: UrlRules = { schemes: ["https:", "http:"], allowList: NO_EXCEPTIONS };
const reasonOf = (raw: string, rules: UrlRules = media): string | undefined => {
  const verdict = checkUrlLiterally(raw, rules);
  return verdict.ok ? undefined : verdict.reason;
};

describe("a tenant URL is checked as written, before anything is forwarded", () => {
  it.each<[string, string, RegExp]>([
    ["loopback literal", "http://127.0.0.1/a.png", /points at 127\.0\.0\.1, a loopback/],
    ["private literal with a port", "https://10.1.2.3:8443/a.png", /points at 10\.1\.2\.3, a private/],
    ["metadata literal", "http://169.254.169.254/latest/meta-data/", /cloud metadata/],
    ["CGNAT literal", "http://100.64.0.1/a.png", /carrier-grade NAT/],
    ["unspecified literal", "http://0.0.0.0/a.png", /unspecified/],
    ["v6 loopback", "http://[::1]/a.png", /points at ::1, a loopback/],
    ["v6 mapped loopback, dotted", "http://[::ffff:127.0.0.1]/a.png", /IPv4-mapped address of 127\.0\.0\.1/],
    ["v6 mapped metadata, hex", "http://[::ffff:a9fe:a9fe]/", /cloud metadata/],
    ["6to4 metadata", "http://[2002:a9fe:a9fe::1]/", /6to4 address of 169\.254\.169\.254/],
    ["NAT64 loopback", "http://[64:ff9b::7f00:1]/", /NAT64 address of 127\.0\.0\.1/],
    ["local-use NAT64", "http://[64:ff9b:1::808:808]/", /local-use NAT64/],
    [
      "Teredo loopback client",
      "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
      /Teredo address of 127\.0\.0\.1/,
    ],
    ["unique-local", "http://[fd12::1]/", /unique-local/],
    ["localhost", "http://localhost/a.png", /points at localhost, a local-only name \(\.localhost\)/],
    [
      "localhost, upper case with a trailing dot",
      "http://LOCALHOST./a.png",
      /points at localhost, a local-only/,
    ],
    ["a localhost subdomain", "http://img.localhost:3000/a.png", /\.localhost/],
    ["localhost, percent-encoded", "http://loc%61lhost/a.png", /points at localhost/],
    ["GCP metadata name", "http://metadata.google.internal/computeMetadata/v1/", /\.internal/],
    ["mDNS name", "http://printer.local/scan.png", /\.local\)/],
    ["single-label name", "http://metadata/computeMetadata/v1/", /single-label/],
    ["decimal IPv4", "http://2130706433/a.png", /non-standard form/],
    ["hex IPv4", "http://0x7f000001/a.png", /non-standard form/],
    ["octal IPv4", "http://0177.0.0.1/a.png", /non-standard form/],
    ["shortened IPv4", "http://127.1/a.png", /non-standard form/],
    ["leading zeros (octal to node, decimal to others)", "http://010.0.0.1/a.png", /non-standard form/],
    ["percent-encoded IPv4", "http://%31%32%37.0.0.1/a.png", /non-standard form/],
    ["full-width digits", "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/a.png", /non-standard form/],
    ["IPv4 with a trailing dot", "http://127.0.0.1./a.png", /non-standard form/],
    [
      "a backslash before @ (parsers disagree on the host)",
      "http://cdn.example\\@127.0.0.1/a.png",
      /backslashes/,
    ],
    ["a tab node would drop", "http://cdn.exa\tmple/a.png", /control characters/],
    ["a raw space", "https://cdn.example/a b.png", /spaces/],
    ["credentials", "https://user:pw@cdn.example/a.png", /user name or password/],
    ["ftp", "ftp://cdn.example/a.png", /must be an http\(s\) URL/],
    ["file", "file:///etc/passwd", /must be an http\(s\) URL/],
    ["data", "data:image/png;base64,iVBORw0KGgo=", /must be an http\(s\) URL/],
    ["gopher", "gopher://cdn.example:70/1", /must be an http\(s\) URL/],
    ["not a URL", "cdn.example/a.png", /must be an http\(s\) URL/],
    ["no host", "https:///a.png", /must be an http\(s\) URL/],
    ["a zone id", "http://[fe80::1%25eth0]/a.png", /must be an http\(s\) URL/],
  ])("refuses %s", (_what, raw, why) => {
    expect(reasonOf(raw)).toMatch(why);
  });

  it.each([
    "https://cdn.example.com/a.png",
    "http://cdn.example.com:8080/a.png?X-Amz-Signature=abc%20def",
    "https://CDN.Example.com./a.png",
    "https://b\u00fccher.example/a.png",
    "https://xn--bcher-kva.example/a.png",
    "http://93.184.216.34/a.png",
    "https://8.8.8.8:443/a.png",
    "https://[2606:4700:4700::1111]/a.png",
    "https://[::ffff:8.8.8.8]/a.png",
    "https://[2002:808:808::1]/a.png",
    "https://cdn.example/%E7%8C%AB.png#frag",
  ])("lets public %s through", (raw) => {
    expect(reasonOf(raw)).toBeUndefined();
  });

  it("lets what the operator allow-listed through, but never an ambiguous spelling", () => {
    const rules = {
      ...media,
      allowList: new AllowList(["10.0.0.0/8", "127.0.0.1", "minio.internal", "localhost"]),
    };
    expect(reasonOf("http://10.1.2.3:9000/bucket/a.png", rules)).toBeUndefined();
    expect(reasonOf("http://[::ffff:10.1.2.3]/a.png", rules)).toBeUndefined();
    expect(reasonOf("http://minio.internal/a.png", rules)).toBeUndefined();
    expect(reasonOf("http://localhost:9000/a.png", rules)).toBeUndefined();
    expect(reasonOf("http://127.0.0.1/a.png", rules)).toBeUndefined();
    expect(reasonOf("http://2130706433/a.png", rules)).toMatch(/non-standard form/);
    expect(reasonOf("http://192.168.1.1/a.png", rules)).toMatch(/private/);
    expect(reasonOf("http://other.internal/a.png", rules)).toMatch(/\.internal/);
  });

  it("asks for https only where only https is allowed", () => {
    expect(reasonOf("http://cdn.example/a", { ...media, schemes: ["https:"] })).toBe("must be an https URL");
  });
});
