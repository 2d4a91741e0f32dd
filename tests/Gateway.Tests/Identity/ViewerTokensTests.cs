using System.Security.Cryptography;
using Gateway.Configuration;
using Gateway.Identity;

namespace Gateway.Tests.Identity;

/// <summary>The CONNECT token check: every way a token is refused, the three algorithms, the channels claim, the key file.</summary>
public sealed class ViewerTokensTests : IDisposable
{
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (string file in _files)
        {
            File.Delete(file);
        }
    }

    private static ViewerTokens Hs256Tokens(string? issuer = TestTokens.Issuer, string? audience = TestTokens.Audience, int clockSkew = 30_000) =>
        ViewerTokens.Create(new GatewayOptions.JwtOptions { Secret = TestTokens.Secret, Issuer = issuer, Audience = audience, ClockSkew = clockSkew })!;

    private ViewerTokens KeyFileTokens(AsymmetricAlgorithm key)
    {
        string path = TestTokens.WritePublicKeyPem(key);
        _files.Add(path);
        return ViewerTokens.Create(new GatewayOptions.JwtOptions { PublicKeyFile = path, Issuer = TestTokens.Issuer, Audience = TestTokens.Audience })!;
    }

    [Fact]
    public void Create_NoKeyConfigured_IsOff() => Assert.Null(ViewerTokens.Create(new GatewayOptions.JwtOptions()));

    [Fact]
    public void Validate_Hs256Valid_GivesTheSubAsViewerWithoutChannelLimit()
    {
        Viewer? viewer = Hs256Tokens().Validate(TestTokens.Create(TestTokens.Hs256(), "viewer-42"));
        Assert.NotNull(viewer);
        Assert.Equal("viewer-42", viewer.Id);
        Assert.Null(viewer.Channels);
        Assert.True(viewer.MayJoin("anything"));
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("expired within the skew but past it")]
    [InlineData("bad signature")]
    [InlineData("wrong audience")]
    [InlineData("wrong issuer")]
    [InlineData("no sub")]
    [InlineData("not a JWT")]
    [InlineData("empty")]
    [InlineData("unsigned (alg none)")]
    public void Validate_RefusedToken_IsNull(string what)
    {
        string token = what switch
        {
            "expired" => TestTokens.Create(TestTokens.Hs256(), "v", lifetime: TimeSpan.FromMinutes(-5)),
            "expired within the skew but past it" => TestTokens.Create(TestTokens.Hs256(), "v", lifetime: TimeSpan.FromSeconds(-40)),
            "bad signature" => TestTokens.Create(TestTokens.Hs256("another-secret-of-at-least-32-bytes-long!!"), "v"),
            "wrong audience" => TestTokens.Create(TestTokens.Hs256(), "v", audience: "someone-else"),
            "wrong issuer" => TestTokens.Create(TestTokens.Hs256(), "v", issuer: "https://evil.example.test"),
            "no sub" => TestTokens.Create(TestTokens.Hs256(), sub: null),
            "not a JWT" => "not.a.jwt",
            "empty" => "",
            // {"alg":"none"} . {"sub":"v","exp":far future,"iss":…,"aud":…} . (no signature)
            "unsigned (alg none)" => Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." +
                Base64Url($"{{\"sub\":\"v\",\"exp\":4102444800,\"iss\":\"{TestTokens.Issuer}\",\"aud\":\"{TestTokens.Audience}\"}}") + ".",
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        Assert.Null(Hs256Tokens().Validate(token));
    }

    [Fact]
    public void Validate_ExpiredWithinTheClockSkew_IsAccepted() =>
        Assert.NotNull(Hs256Tokens(clockSkew: 60_000).Validate(TestTokens.Create(TestTokens.Hs256(), "v", lifetime: TimeSpan.FromSeconds(-20))));

    [Fact]
    public void Validate_NoIssuerOrAudienceConfigured_AcceptsAny() =>
        Assert.NotNull(Hs256Tokens(issuer: null, audience: null).Validate(TestTokens.Create(TestTokens.Hs256(), "v", issuer: "x", audience: "y")));

    [Fact]
    public void Validate_ChannelsClaimArray_LimitsTheViewer()
    {
        Viewer viewer = Hs256Tokens().Validate(TestTokens.Create(TestTokens.Hs256(), "v", channels: ["show-1", "show-2"]))!;
        Assert.Equal(["show-1", "show-2"], viewer.Channels!);
        Assert.True(viewer.MayJoin("show-2"));
        Assert.False(viewer.MayJoin("show-3"));
    }

    [Fact]
    public void Validate_ChannelsClaimOneString_IsOneChannel() =>
        Assert.Equal(["show-1"], Hs256Tokens().Validate(TestTokens.Create(TestTokens.Hs256(), "v", channelsClaim: "show-1"))!.Channels!);

    [Fact]
    public void Validate_ChannelsClaimNotStrings_IsRefusedRatherThanUnlimited() =>
        Assert.Null(Hs256Tokens().Validate(TestTokens.Create(TestTokens.Hs256(), "v", channelsClaim: 42)));

    [Fact]
    public void Validate_Rs256_ValidAndOtherKey()
    {
        using var rsa = RSA.Create(2048);
        using var other = RSA.Create(2048);
        ViewerTokens tokens = KeyFileTokens(rsa);

        Assert.Equal("rs-viewer", tokens.Validate(TestTokens.Create(TestTokens.Rs256(rsa), "rs-viewer"))?.Id);
        Assert.Null(tokens.Validate(TestTokens.Create(TestTokens.Rs256(other), "rs-viewer")));
    }

    [Fact]
    public void Validate_Es256_ValidAndOtherKey()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ViewerTokens tokens = KeyFileTokens(ecdsa);

        Assert.Equal("es-viewer", tokens.Validate(TestTokens.Create(TestTokens.Es256(ecdsa), "es-viewer"))?.Id);
        Assert.Null(tokens.Validate(TestTokens.Create(TestTokens.Es256(other), "es-viewer")));
    }

    [Fact]
    public void Validate_Hs256TokenAgainstAPublicKeyGateway_IsRefused()
    {
        // Algorithm confusion: an HMAC signed with the public key's bytes must not pass for RS256.
        using var rsa = RSA.Create(2048);
        ViewerTokens tokens = KeyFileTokens(rsa);
        string pemAsSecret = rsa.ExportSubjectPublicKeyInfoPem();
        Assert.Null(tokens.Validate(TestTokens.Create(TestTokens.Hs256(pemAsSecret), "v")));
    }

    [Fact]
    public void ValidateOptions_KeyFileMissingOrWrongCurve_NamesTheKey()
    {
        var missing = new GatewayOptions { Auth = { Jwt = { PublicKeyFile = "/nonexistent/key.pem" } } };
        Assert.Contains("Gateway:Auth:Jwt:PublicKeyFile", Assert.Single(ViewerTokens.ValidateOptions(missing)));

        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        string path = TestTokens.WritePublicKeyPem(p384);
        _files.Add(path);
        var wrongCurve = new GatewayOptions { Auth = { Jwt = { PublicKeyFile = path } } };
        Assert.Contains("P-256", Assert.Single(ViewerTokens.ValidateOptions(wrongCurve)));

        string notPem = Path.GetTempFileName();
        _files.Add(notPem);
        File.WriteAllText(notPem, "hello");
        Assert.Contains("no RSA or EC public key", Assert.Single(ViewerTokens.ValidateOptions(new GatewayOptions { Auth = { Jwt = { PublicKeyFile = notPem } } })));
    }

    [Fact]
    public void GatewayOptionsValidate_ShortSecretOrBothKeys_NamesTheKey()
    {
        Assert.Contains(new GatewayOptions { Auth = { Jwt = { Secret = "short" } } }.Validate(), e => e.Contains("Gateway:Auth:Jwt:Secret must be at least 32 bytes"));
        Assert.Contains(new GatewayOptions { Auth = { Jwt = { Secret = TestTokens.Secret, PublicKeyFile = "k.pem" } } }.Validate(), e => e.Contains("exclusive"));
        Assert.Contains(new GatewayOptions { Auth = { Jwt = { Audience = "a" } } }.Validate(), e => e.Contains("Issuer / Audience need"));
    }

    private static string Base64Url(string json) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(json);
}
