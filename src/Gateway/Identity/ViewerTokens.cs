using System.Security.Cryptography;
using System.Text.Json;
using Gateway.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Identity;

/// <summary>
/// Checks the JWT a client sends in its CONNECT auth (<c>{"token":"…"}</c>) against <c>Gateway:Auth:Jwt</c>: signature
/// (HS256 with the shared secret, or RS256 / ES256 with the PEM public key), <c>exp</c> / <c>nbf</c> with the clock
/// skew, <c>iss</c> and <c>aud</c> when configured, and a <c>sub</c>. Built once; the validation parameters are reused
/// for every CONNECT.
/// </summary>
/// <remarks>Thread-safe. Called on the CONNECT path only, never per message.</remarks>
internal sealed class ViewerTokens
{
    /// <summary>Longest token read, bytes: a CONNECT auth is bounded by MaxPayload, a real token is well under this.</summary>
    public const int MaxTokenLength = 8192;

    /// <summary>Longest <c>sub</c> kept: it becomes part of a Redis key per answer.</summary>
    public const int MaxViewerIdLength = 256;

    public const string ChannelsClaim = "channels";

    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = MaxTokenLength };
    private readonly TokenValidationParameters _parameters;

    private ViewerTokens(TokenValidationParameters parameters)
    {
        _parameters = parameters;
    }

    /// <summary>The validator for <paramref name="options"/>, or null when viewer identity is off (no key configured).</summary>
    /// <exception cref="InvalidOperationException">The public key file cannot be read or holds no RSA / EC P-256 key.</exception>
    /// <remarks><c>exp</c> and <c>nbf</c> are checked against the system clock (the library's own).</remarks>
    public static ViewerTokens? Create(GatewayOptions.JwtOptions options)
    {
        if (!options.Enabled)
        {
            return null;
        }

        (SecurityKey key, string algorithm) = LoadKey(options);
        var parameters = new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [algorithm],
            ValidateIssuerSigningKey = true,
            ValidateIssuer = !string.IsNullOrEmpty(options.Issuer),
            ValidIssuer = options.Issuer,
            ValidateAudience = !string.IsNullOrEmpty(options.Audience),
            ValidAudience = options.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromMilliseconds(options.ClockSkew),
        };
        return new ViewerTokens(parameters);
    }

    /// <summary>Configuration errors the key file causes, naming the key (checked at start, exit code 2).</summary>
    public static IEnumerable<string> ValidateOptions(GatewayOptions options)
    {
        GatewayOptions.JwtOptions jwt = options.Auth.Jwt;
        if (string.IsNullOrEmpty(jwt.PublicKeyFile))
        {
            yield break;
        }

        string? error = null;
        try
        {
            LoadKey(jwt);
        }
        catch (InvalidOperationException e)
        {
            error = e.Message;
        }

        if (error is not null)
        {
            yield return error;
        }
    }

    /// <summary>The viewer <paramref name="token"/> names, or null when it is missing, invalid or expired.</summary>
    public Viewer? Validate(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return null;
        }

        // With a static key nothing in the validation awaits: the task is complete on return. Should a future
        // version of the library yield, the CONNECT still gets its answer (this is not a per-message path).
        Task<TokenValidationResult> validation = _handler.ValidateTokenAsync(token, _parameters);
        TokenValidationResult result = validation.IsCompleted ? validation.Result : validation.GetAwaiter().GetResult();
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return null;
        }

        string subject = jwt.Subject;
        if (string.IsNullOrEmpty(subject) || subject.Length > MaxViewerIdLength)
        {
            return null;
        }

        if (!TryReadChannels(jwt, out string[]? channels))
        {
            return null;
        }

        return new Viewer(subject, channels);
    }

    /// <summary>
    /// The <c>channels</c> claim as the token's JSON has it: an array of non-empty strings, or one string; absent is no
    /// limit. Anything else makes the token unusable rather than unlimited (a library's lenient conversion of 42 to
    /// "42" must not decide what a viewer may join).
    /// </summary>
    private static bool TryReadChannels(JsonWebToken jwt, out string[]? channels)
    {
        channels = null;
        using JsonDocument payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
        if (!payload.RootElement.TryGetProperty(ChannelsClaim, out JsonElement claim))
        {
            return true;
        }

        if (claim.ValueKind == JsonValueKind.String && claim.GetString() is { Length: > 0 } one)
        {
            channels = [one];
            return true;
        }

        if (claim.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var list = new string[claim.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in claim.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 } name)
            {
                return false;
            }

            list[i++] = name;
        }

        channels = list;
        return true;
    }

    private static (SecurityKey Key, string Algorithm) LoadKey(GatewayOptions.JwtOptions options)
    {
        if (!string.IsNullOrEmpty(options.Secret))
        {
            return (new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(options.Secret)), SecurityAlgorithms.HmacSha256);
        }

        string path = options.PublicKeyFile!;
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new InvalidOperationException($"Gateway:Auth:Jwt:PublicKeyFile: cannot read '{path}' ({e.Message}).", e);
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            if (rsa.KeySize < 2048)
            {
                throw new InvalidOperationException($"Gateway:Auth:Jwt:PublicKeyFile: the RSA key in '{path}' has {rsa.KeySize} bits; RS256 needs at least 2048.");
            }

            return (new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
        }

        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            ecdsa.Dispose();
            throw new InvalidOperationException($"Gateway:Auth:Jwt:PublicKeyFile: '{path}' holds no RSA or EC public key in PEM form.", e);
        }

        if (ecdsa.KeySize != 256)
        {
            int bits = ecdsa.KeySize;
            ecdsa.Dispose();
            throw new InvalidOperationException($"Gateway:Auth:Jwt:PublicKeyFile: the EC key in '{path}' is on a {bits}-bit curve; ES256 needs P-256.");
        }

        return (new ECDsaSecurityKey(ecdsa), SecurityAlgorithms.EcdsaSha256);
    }
}
