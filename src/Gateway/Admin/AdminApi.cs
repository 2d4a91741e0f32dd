using System.Globalization;
using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.EngineIO;
using Gateway.Prompts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Admin;

/// <summary>
/// The admin port: the ordinary ASP.NET Core pipeline (nothing on the public port goes through it). Publish,
/// health, readiness, stats, and a drain that closes every client transport.
/// </summary>
internal static class AdminApi
{
    public static void Map(WebApplication app, GatewayRuntime runtime, int adminPort)
    {
        GatewayOptions options = runtime.Options;
        bool stopping = false;
        app.Lifetime.ApplicationStopping.Register(() => stopping = true);

        // Only requests that arrived on the admin port reach these endpoints.
        RouteGroupBuilder admin = app.MapGroup("").RequireHost($"*:{adminPort}");

        admin.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        admin.MapGet("/readyz", () =>
        {
            if (stopping)
            {
                return Results.Json(new { status = "stopping" }, statusCode: StatusCodes.Status503ServiceUnavailable);
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
                    if (nsElement.ValueKind != JsonValueKind.String)
                    {
                        return BadRequest("namespace must be a string");
                    }

                    ns = nsElement.GetString()!;
                }

                int namespaceIndex = runtime.FindNamespace(ns);
                if (namespaceIndex < 0)
                {
                    return BadRequest($"unknown namespace '{ns}'");
                }

                string? channel = null;
                if (root.TryGetProperty("channel", out JsonElement channelElement) && channelElement.ValueKind != JsonValueKind.Null)
                {
                    if (channelElement.ValueKind != JsonValueKind.String || channelElement.GetString()!.Length == 0)
                    {
                        return BadRequest("channel must be a non-empty string or null");
                    }

                    channel = channelElement.GetString();
                }

                string eventName = "prompt";
                if (root.TryGetProperty("event", out JsonElement eventElement) && eventElement.ValueKind != JsonValueKind.Null)
                {
                    if (eventElement.ValueKind != JsonValueKind.String || eventElement.GetString()!.Length == 0)
                    {
                        return BadRequest("event must be a non-empty string");
                    }

                    eventName = eventElement.GetString()!;
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
                if (root.TryGetProperty("id", out JsonElement idElement) && idElement.ValueKind == JsonValueKind.String)
                {
                    id = idElement.GetString();
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

                // Embedded: into this gateway's ring. Redis mode: through the region's stream, so every gateway of the
                // region delivers it (this one too).
                PublishOutcome outcome = await runtime.Prompts.PublishAsync(new PublishRequest(namespaceIndex, ns, channel, eventName, data, id, revealAt, sendAhead));
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

        // The operator console's tally: answers stored through this gateway, per prompt and choice.
        v1.MapGet("/answers", () => Results.Json(new
        {
            prompts = runtime.AnswerTally.Snapshot().Select(p => new { id = p.Key, total = p.Value.Total, choices = p.Value.Choices }),
        }));

        v1.MapGet("/stats", () =>
        {
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
                protocolErrors = metrics.ProtocolErrors,
                unknownEvents = metrics.UnknownEvents,
                channels = runtime.Channels.Count,
                ringHead = runtime.Ring.Head,
                redis = RedisStats(runtime),
                process = ProcessStats(),
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

        // No body: close every client transport (drain; clients reconnect). {"namespace":"/x"}: a Socket.IO
        // DISCONNECT of that namespace only (clients do not reconnect it by themselves).
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

    // Memory as the operator sizes machines by: resident set, managed heap, and what the GC keeps committed.
    private static object ProcessStats()
    {
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new
        {
            rssBytes = process.WorkingSet64,
            managedHeapBytes = GC.GetTotalMemory(forceFullCollection: false),
            gcCommittedBytes = gc.TotalCommittedBytes,
            gcCount = GC.CollectionCount(0),
        };
    }

    private static IResult BadRequest(string message) =>
        Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);
}
