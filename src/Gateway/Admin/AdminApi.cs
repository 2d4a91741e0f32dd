using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Census;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.Prompts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Admin;

/// <summary>
/// The admin port: the ordinary ASP.NET Core pipeline (nothing on the public port goes through it). Publish,
/// health, readiness, stats, the paced drain and its undo, and a disconnect of every client transport.
/// </summary>
internal static class AdminApi
{
    private const string HealthPath = "/healthz";
    private const string ReadinessPath = "/readyz";

    /// <summary>The recent prompts whose region-wide answer tally <c>GET /v1/answers</c> reads (one pipelined round trip).</summary>
    private const int RegionTallyPrompts = 64;

    /// <summary>
    /// Maps the admin endpoints (admin port only) and health and readiness (also on the health port, where
    /// <c>Gateway:HealthPort</c> is not 0 and every other path answers 404).
    /// </summary>
    public static void Map(WebApplication app, GatewayRuntime runtime, int adminPort, int healthPort)
    {
        GatewayOptions options = runtime.Options;
        IRegionCensus census = app.Services.GetRequiredService<IRegionCensus>();

        if (healthPort != 0)
        {
            // The health port faces the load balancer (and so the internet): nothing but health and readiness. Decided
            // by the port the connection arrived on, never by the Host header, which the client writes.
            app.Use((context, next) =>
            {
                if (context.Connection.LocalPort == healthPort
                    && !context.Request.Path.Equals(HealthPath, StringComparison.Ordinal)
                    && !context.Request.Path.Equals(ReadinessPath, StringComparison.Ordinal))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return next(context);
            });
        }

        // Health and readiness on every port Kestrel serves (the admin port, and the health port when on); the rest
        // only for requests that arrived on the admin port.
        RouteGroupBuilder admin = app.MapGroup("").RequireHost($"*:{adminPort}");

        app.MapGet(HealthPath, () => Results.Json(new { status = "ok" }));
        // Ready = new sessions are welcome here; never a verdict on the sockets already open (the balancer must not
        // cut those on a 503: README "Drain").
        app.MapGet(ReadinessPath, () =>
        {
            DrainProgress drain = runtime.Drain.Progress;
            if (drain.State != DrainState.Serving)
            {
                return Results.Json(new { status = drain.ForShutdown ? "stopping" : "draining" }, statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            // Not ready while the prompt source is (Redis mode: the region's Redis is away; sockets stay, prompts
            // resume from the cursor).
            string? reason = runtime.Prompts.NotReadyReason;
            return reason is null
                ? Results.Json(new { status = "ready" })
                : Results.Json(new { status = "not ready", reason }, statusCode: StatusCodes.Status503ServiceUnavailable);
        });

        OperatorConsole.Map(admin);

        RouteGroupBuilder v1 = admin.MapGroup("/v1");
        if (!string.IsNullOrEmpty(options.AdminToken))
        {
            string expected = "Bearer " + options.AdminToken;
            v1.AddEndpointFilter(async (context, next) =>
            {
                string? header = context.HttpContext.Request.Headers.Authorization;
                if (!string.Equals(header, expected, StringComparison.Ordinal))
                {
                    return Results.Json(new { error = "unauthorized" }, statusCode: StatusCodes.Status401Unauthorized);
                }

                return await next(context);
            });
        }

        v1.MapPost("/publish", async (HttpRequest request) =>
        {
            JsonDocument document;
            try
            {
                document = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            }
            catch (JsonException)
            {
                return Results.Json(new { error = "body must be JSON" }, statusCode: StatusCodes.Status400BadRequest);
            }

            using (document)
            {
                JsonElement root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return BadRequest("body must be a JSON object");
                }

                string ns = "/";
                if (root.TryGetProperty("namespace", out JsonElement nsElement) && nsElement.ValueKind != JsonValueKind.Null)
                {
                    if (!TryGetText(nsElement, out string? nsText))
                    {
                        return BadRequest("namespace must be a string");
                    }

                    ns = nsText;
                }

                int namespaceIndex = runtime.FindNamespace(ns);
                if (namespaceIndex < 0)
                {
                    return BadRequest($"unknown namespace '{ns}'");
                }

                string? channel = null;
                if (root.TryGetProperty("channel", out JsonElement channelElement) && channelElement.ValueKind != JsonValueKind.Null)
                {
                    // A name that cannot be a channel is refused, never delivered to the whole namespace.
                    if (!TryGetText(channelElement, out channel) || !ChannelRegistry.IsValidName(channel))
                    {
                        runtime.Membership.Refuse(ChannelRefusal.PublishInvalidName);
                        return BadRequest($"channel must be null or a string of 1–{ChannelRegistry.MaxNameLength} characters of valid text");
                    }
                }

                string eventName = "prompt";
                if (root.TryGetProperty("event", out JsonElement eventElement) && eventElement.ValueKind != JsonValueKind.Null)
                {
                    if (!TryGetText(eventElement, out string? eventText) || eventText.Length == 0)
                    {
                        return BadRequest("event must be a non-empty string");
                    }

                    eventName = eventText;
                }

                JsonElement data;
                if (!root.TryGetProperty("data", out data) || data.ValueKind == JsonValueKind.Null)
                {
                    data = JsonDocument.Parse("[]").RootElement;
                }
                else if (data.ValueKind != JsonValueKind.Array)
                {
                    return BadRequest("data must be a JSON array (the event's arguments)");
                }

                string? id = null;
                if (root.TryGetProperty("id", out JsonElement idElement) && idElement.ValueKind == JsonValueKind.String && !TryGetText(idElement, out id))
                {
                    return BadRequest("id must be valid text");
                }

                long? revealAt = null;
                if (root.TryGetProperty("revealAt", out JsonElement revealElement) && revealElement.ValueKind != JsonValueKind.Null)
                {
                    if (revealElement.ValueKind != JsonValueKind.Number || !revealElement.TryGetInt64(out long ms) || ms < 0)
                    {
                        return BadRequest("revealAt must be milliseconds since the epoch");
                    }

                    revealAt = ms;
                }

                if (root.TryGetProperty("revealIn", out JsonElement revealInElement) && revealInElement.ValueKind != JsonValueKind.Null)
                {
                    // The operator's "reveal in N s", on the gateway's clock (a console's device clock may be off).
                    if (revealAt is not null || revealInElement.ValueKind != JsonValueKind.Number || !revealInElement.TryGetInt64(out long inMs) || inMs is < 0 or > GatewayOptions.MaxSendAhead)
                    {
                        return BadRequest($"revealIn must be 0–{GatewayOptions.MaxSendAhead} ms, and not given with revealAt");
                    }

                    revealAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + inMs;
                }

                long? sendAhead = null;
                if (root.TryGetProperty("sendAhead", out JsonElement sendAheadElement) && sendAheadElement.ValueKind != JsonValueKind.Null)
                {
                    if (sendAheadElement.ValueKind != JsonValueKind.Number || !sendAheadElement.TryGetInt64(out long ms) || ms is < 0 or > GatewayOptions.MaxSendAhead)
                    {
                        return BadRequest($"sendAhead must be 0–{GatewayOptions.MaxSendAhead} ms");
                    }

                    sendAhead = ms;
                }

                long? answerUntil = null;
                if (root.TryGetProperty("answerUntil", out JsonElement answerElement) && answerElement.ValueKind != JsonValueKind.Null)
                {
                    if (!answerElement.TryGetInt64(out long ms) || ms < 0)
                    {
                        return BadRequest("answerUntil must be milliseconds since the epoch");
                    }

                    answerUntil = ms;
                }

                // Embedded: into this gateway's ring. Redis mode: through the region's stream, so every gateway of the
                // region delivers it (this one too).
                PublishOutcome outcome = await runtime.Prompts.PublishAsync(new PublishRequest(namespaceIndex, ns, channel, eventName, data, id, revealAt, sendAhead, answerUntil));
                return outcome.Status switch
                {
                    PublishStatus.Accepted when outcome.StreamId is not null =>
                        Results.Json(new { id = outcome.Id, streamId = outcome.StreamId }, statusCode: StatusCodes.Status202Accepted),
                    PublishStatus.Accepted when outcome.PushAtMs is long pushAt =>
                        Results.Json(new { id = outcome.Id, pushAt }, statusCode: StatusCodes.Status202Accepted),
                    PublishStatus.Accepted => Results.Json(new { id = outcome.Id, sequence = outcome.Sequence }, statusCode: StatusCodes.Status202Accepted),
                    PublishStatus.Invalid => BadRequest(outcome.Error!),
                    _ => Results.Json(new { error = outcome.Error }, statusCode: StatusCodes.Status503ServiceUnavailable),
                };
            }
        });

        // The operator console's tally, per prompt and choice: the region's (counted as each answer enters the answers
        // stream, Redis mode) for the recent prompts, else the answers stored through this gateway.
        v1.MapGet("/answers", async (HttpContext http) =>
        {
            var local = runtime.AnswerTally.Snapshot();
            List<string> ids = (runtime.Context.Tracker?.Recent(RegionTallyPrompts) ?? []).Select(r => r.Id).Distinct(StringComparer.Ordinal).ToList();
            ids.AddRange(local.Keys.Where(id => !ids.Contains(id, StringComparer.Ordinal)));
            if (await runtime.Answers.ReadTallyAsync(ids, http.RequestAborted) is { } region)
            {
                return Results.Json(new
                {
                    scope = "region",
                    prompts = ids.Where(region.ContainsKey).Select(id => new { id, total = region[id].Values.Sum(), choices = region[id] }),
                });
            }

            return Results.Json(new
            {
                scope = "instance",
                prompts = local.Select(p => new { id = p.Key, total = p.Value.Total, choices = p.Value.Choices }),
            });
        });

        v1.MapGet("/stats", async (HttpContext http) =>
        {
            // The region's totals (every live gateway's last heartbeat; embedded: this one); null while Redis is away.
            RegionCounts? region = await census.ReadAsync(http.RequestAborted);
            var metrics = runtime.Metrics;
            var namespaces = new Dictionary<string, long>(StringComparer.Ordinal);
            for (int i = 0; i < runtime.NamespaceNames.Length; i++)
            {
                namespaces[runtime.NamespaceNames[i]] = metrics.NamespaceSockets(i);
            }

            return Results.Json(new
            {
                connections = metrics.Connections,
                transports = new { websocket = metrics.WebSocketSessions, polling = metrics.PollingSessions },
                namespaces,
                published = metrics.Published,
                slowConsumers = metrics.SlowConsumers,
                heartbeatTimeouts = metrics.HeartbeatTimeouts,
                connectionsRefused = metrics.ConnectionsRefused,
                refused = Refused(metrics),
                admission = new
                {
                    tcpConnections = runtime.Admission.Connections,
                    viewers = runtime.Admission.Viewers,
                    maxConnections = runtime.Admission.MaxConnections,
                    pendingBodyBytes = runtime.Admission.PendingBodyBytes,
                },
                protocolErrors = metrics.ProtocolErrors,
                pool = new { rentedBuffers = metrics.RentedBuffers, rentedBytes = metrics.RentedBufferBytes },
                unknownEvents = metrics.UnknownEvents,
                channels = runtime.Channels.Count,
                channelsRefused = metrics.ChannelsRefusedByReason(),
                ringHead = runtime.Ring.Head,
                ringLag = runtime.Context.RingLag,
                drain = DrainStats(runtime.Drain.Progress),
                topChannels = runtime.Channels.Top(options.Stats.TopChannels).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal),
                region = region?.Totals(),
                redis = RedisStats(runtime),
                process = ProcessStats(metrics),
            });
        });

        // The region's gateways, each with its counts, readiness and last heartbeat: what an operator console shows.
        v1.MapGet("/region", async (HttpContext http) =>
        {
            RegionCounts? region = await census.ReadAsync(http.RequestAborted);
            if (region is null)
            {
                return Results.Json(new { error = "region unavailable: redis is away" }, statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            return Results.Json(new
            {
                now = region.NowMs,
                region = region.Totals(),
                instances = region.Instances.Select(i => new
                {
                    instance = i.Instance,
                    advertise = i.Advertise,
                    alive = region.IsAlive(i),
                    ready = i.Ready,
                    lastHeartbeat = i.At,
                    connections = i.Connections,
                    byNamespace = i.ByNamespace,
                    byChannel = i.ByChannel,
                }),
            });
        });

        // Prompt lifecycle on this instance, newest first (the last PromptTracker.Kept).
        v1.MapGet("/prompts", (HttpRequest request) =>
        {
            int limit = PromptTracker.Kept;
            if (request.Query.TryGetValue("limit", out var values) &&
                (!int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
            {
                return BadRequest($"limit must be an integer 1–{PromptTracker.Kept}");
            }

            List<PromptRecord> records = runtime.Context.Tracker?.Recent(limit) ?? [];
            return Results.Json(new { prompts = records.Select(PromptJson) });
        });

        // The paced drain without exiting: readiness 503 and new sessions refused until /v1/undrain; after
        // Drain:Delay the sessions are closed in random order across Drain:Window. 202 when it began, 200 when one was
        // already in progress or done.
        v1.MapPost("/drain", () =>
        {
            bool began = runtime.Drain.Begin(forShutdown: false);
            return Results.Json(DrainStats(runtime.Drain.Progress), statusCode: began ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
        });

        // Stops a drain: sessions not yet closed stay, new ones are welcome again. 409 while the gateway shuts down.
        v1.MapPost("/undrain", () => runtime.Drain.Undrain()
            ? Results.Json(DrainStats(runtime.Drain.Progress))
            : Results.Json(new { error = "the gateway is shutting down" }, statusCode: StatusCodes.Status409Conflict));

        // No body: close every client transport at once (clients reconnect; POST /v1/drain paces it).
        // {"namespace":"/x"}: a Socket.IO DISCONNECT of that namespace only (clients do not reconnect it by themselves).
        v1.MapPost("/disconnect", async (HttpRequest request) =>
        {
            if (request.ContentLength is null or 0)
            {
                return Results.Json(new { closed = runtime.CloseAll(CloseReason.AdminDisconnect) });
            }

            string? ns = null;
            try
            {
                using JsonDocument body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
                if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("namespace", out JsonElement element) && element.ValueKind == JsonValueKind.String)
                {
                    ns = element.GetString();
                }
            }
            catch (JsonException)
            {
                return BadRequest("body must be JSON");
            }

            int index = ns is null ? -1 : runtime.FindNamespace(ns);
            if (index < 0)
            {
                return BadRequest("namespace must name a configured namespace");
            }

            return Results.Json(new { disconnected = runtime.DisconnectNamespace(index) });
        });
    }

    // Every refusal reason, by its label (0 included: a dashboard sees every key from the start).
    private static Dictionary<string, long> Refused(GatewayMetrics metrics)
    {
        var refused = new Dictionary<string, long>(RefusalReasons.Count, StringComparer.Ordinal);
        for (int i = 0; i < RefusalReasons.Count; i++)
        {
            refused[RefusalReasons.Labels[i]] = metrics.Refused((RefusalReason)i);
        }

        return refused;
    }
    /// <summary>A lifecycle record as <c>GET /v1/prompts</c> shows it (the names are the API's).</summary>
    private static object PromptJson(PromptRecord record) => new
    {
        id = record.Id,
        streamId = record.StreamId,
        @namespace = record.Namespace,
        channel = record.Channel,
        @event = record.Event,
        publishedAt = record.PublishedAt,
        revealAt = record.RevealAt,
        recipients = record.Recipients,
        firstWriteMs = record.FirstWriteMs,
        lastWriteMs = record.LastWriteMs,
        slowConsumers = record.SlowConsumers,
        streamLagMs = record.StreamLagMs,
        complete = record.Complete,
    };

    private static object DrainStats(DrainProgress drain) => new
    {
        state = drain.State switch
        {
            DrainState.Waiting => "waiting",
            DrainState.Closing => "closing",
            DrainState.Drained => "drained",
            _ => "serving",
        },
        remaining = drain.Remaining,
        closed = drain.Closed,
        shutdown = drain.ForShutdown,
    };

    private static object? RedisStats(GatewayRuntime runtime)
    {
        if (runtime.Prompts.Stream is not { } stream)
        {
            return null;
        }

        var metrics = runtime.Metrics;
        return new
        {
            ready = runtime.Prompts.NotReadyReason is null,
            reason = runtime.Prompts.NotReadyReason,
            cursor = stream.Cursor,
            held = stream.Held,
            delivered = metrics.StreamEntries,
            duplicates = metrics.StreamDuplicates,
            invalid = metrics.StreamInvalid,
            gaps = metrics.StreamGaps,
            late = metrics.StreamLate,
            recovered = metrics.Recovered,
            notRecovered = metrics.NotRecovered,
            answersWritten = metrics.AnswersWritten,
            answersRefused = metrics.AnswersRefused,
            answersPending = runtime.Answers.Pending,
        };
    }

    // Memory as the operator sizes machines by: resident set, managed heap, what the GC keeps committed, and how often
    // it was given back after a peak (Gateway:Memory).
    private static object ProcessStats(GatewayMetrics metrics)
    {
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new
        {
            rssBytes = process.WorkingSet64,
            managedHeapBytes = GC.GetTotalMemory(forceFullCollection: false),
            gcCommittedBytes = gc.TotalCommittedBytes,
            gcCount = GC.CollectionCount(0),
            memoryTrims = metrics.MemoryTrims,
        };
    }

    /// <summary>
    /// A JSON string as .NET text; false for another kind, or for text that is not valid (invalid UTF-8, a lone
    /// surrogate), on which <see cref="JsonElement.GetString"/> throws.
    /// </summary>
    private static bool TryGetText(JsonElement element, [NotNullWhen(true)] out string? text)
    {
        text = null;
        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        try
        {
            text = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static IResult BadRequest(string message) =>
        Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);
}
