using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Identity;

/// <summary>
/// Tokens as an identity provider would issue them (Microsoft.IdentityModel's own writer), and key files as an operator
/// would write them: the keys are made in the test, the PEM public key is written to a temporary file.
/// </summary>
public static class TestTokens
{
    public const string Secret = "a-test-secret-of-at-least-32-bytes-for-hs256!";
    public const string Issuer = "https://id.example.test";
    public const string Audience = "gateway-viewers";

    public static SigningCredentials Hs256(string secret = Secret) =>
        new(new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256);

    public static SigningCredentials Rs256(RSA rsa) => new(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256);

    public static SigningCredentials Es256(ECDsa ecdsa) => new(new ECDsaSecurityKey(ecdsa), SecurityAlgorithms.EcdsaSha256);

    /// <summary>
    /// A signed JWT for <paramref name="sub"/>, valid from a minute ago for <paramref name="lifetime"/> (negative: already
    /// expired), with an optional <c>channels</c> claim (an array of strings).
    /// </summary>
    public static string Create(SigningCredentials credentials, string? sub, TimeSpan? lifetime = null, string issuer = Issuer,
        string audience = Audience, string[]? channels = null, object? channelsClaim = null)
    {
        DateTime now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>();
        if (channels is not null)
        {
            claims["channels"] = channels;
        }
        else if (channelsClaim is not null)
        {
            claims["channels"] = channelsClaim;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now.AddMinutes(-10),
            NotBefore = now.AddMinutes(-10),
            Expires = now + (lifetime ?? TimeSpan.FromHours(1)),
            SigningCredentials = credentials,
            Claims = claims,
            Subject = sub is null ? null : new ClaimsIdentity([new Claim("sub", sub)]),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>Writes the public half of a key as PEM (SubjectPublicKeyInfo) to a new temporary file.</summary>
    public static string WritePublicKeyPem(AsymmetricAlgorithm key)
    {
        string path = Path.Combine(Path.GetTempPath(), "gateway-jwt-" + Guid.NewGuid().ToString("N")[..12] + ".pem");
        File.WriteAllText(path, key.ExportSubjectPublicKeyInfoPem());
        return path;
    }
}
