using Gateway.Protocol.WebSockets;

namespace Gateway.Protocol.Tests.WebSockets;

public class WebSocketMessageStateTests
{
    private const long Max = 1000;

    private static WebSocketFrameHeader Frame(WebSocketOpcode opcode, bool fin, long length) =>
        new(fin, opcode, true, 0, length, 6);

    [Fact]
    public void OnDataFrame_SingleTextFrame_CompletesMessage()
    {
        var state = default(WebSocketMessageState);

        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Text, true, 5), Max));
        Assert.True(state.InMessage);
        Assert.Equal(WebSocketOpcode.Text, state.MessageOpcode);
        Assert.Equal(ProtocolError.None, state.OnPayload("Hello"u8));
        Assert.Equal(ProtocolError.None, state.OnMessageEnd());
        Assert.False(state.InMessage);
        Assert.Equal(5, state.MessageLength);
    }

    [Fact]
    public void OnDataFrame_Rfc6455FragmentedHello_AcceptsContinuation()
    {
        var state = default(WebSocketMessageState);

        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Text, false, 3), Max));
        Assert.Equal(ProtocolError.None, state.OnPayload("Hel"u8));
        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Continuation, true, 2), Max));
        Assert.Equal(ProtocolError.None, state.OnPayload("lo"u8));
        Assert.Equal(ProtocolError.None, state.OnMessageEnd());
        Assert.Equal(5, state.MessageLength);
        Assert.Equal(WebSocketOpcode.Text, state.MessageOpcode);
    }

    [Fact]
    public void OnDataFrame_ContinuationWithoutMessage_ReturnsUnexpectedContinuation()
    {
        var state = default(WebSocketMessageState);

        Assert.Equal(ProtocolError.UnexpectedContinuation, state.OnDataFrame(Frame(WebSocketOpcode.Continuation, true, 2), Max));
    }

    [Fact]
    public void OnDataFrame_ContinuationAfterCompletedMessage_ReturnsUnexpectedContinuation()
    {
        var state = default(WebSocketMessageState);
        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Binary, true, 2), Max));
        Assert.Equal(ProtocolError.None, state.OnMessageEnd());

        Assert.Equal(ProtocolError.UnexpectedContinuation, state.OnDataFrame(Frame(WebSocketOpcode.Continuation, true, 2), Max));
    }

    [Theory]
    [InlineData(WebSocketOpcode.Text)]
    [InlineData(WebSocketOpcode.Binary)]
    public void OnDataFrame_NewDataFrameInsideMessage_ReturnsExpectedContinuation(WebSocketOpcode second)
    {
        var state = default(WebSocketMessageState);
        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Text, false, 3), Max));

        Assert.Equal(ProtocolError.ExpectedContinuation, state.OnDataFrame(Frame(second, true, 2), Max));
    }

    [Fact]
    public void OnDataFrame_ExactlyMaxAcrossFragments_Accepts()
    {
        var state = default(WebSocketMessageState);

        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Binary, false, 600), Max));
        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Continuation, true, 400), Max));
        Assert.Equal(Max, state.MessageLength);
    }

    [Fact]
    public void OnDataFrame_OneByteOverMaxAcrossFragments_ReturnsMessageTooBig()
    {
        var state = default(WebSocketMessageState);

        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Binary, false, 600), Max));
        Assert.Equal(ProtocolError.MessageTooBig, state.OnDataFrame(Frame(WebSocketOpcode.Continuation, true, 401), Max));
    }

    [Fact]
    public void OnDataFrame_SingleFrameOverMax_ReturnsMessageTooBig()
    {
        var state = default(WebSocketMessageState);

        Assert.Equal(ProtocolError.MessageTooBig, state.OnDataFrame(Frame(WebSocketOpcode.Text, true, Max + 1), Max));
    }

    [Fact]
    public void OnDataFrame_ContinuationWithLargestLength_ReturnsMessageTooBigWithoutOverflow()
    {
        var state = default(WebSocketMessageState);
        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Binary, false, 10), Max));

        // 10 + (2^63 - 1) wraps negative in a plain long sum.
        Assert.Equal(ProtocolError.MessageTooBig, state.OnDataFrame(Frame(WebSocketOpcode.Continuation, true, long.MaxValue), Max));
    }

    [Fact]
    public void OnPayload_InvalidUtf8SplitAcrossFragmentsAtEveryOffset_ReturnsInvalidUtf8()
    {
        // "κόσμε" then U+D800 (ED A0 80) then "edited" (Autobahn 6.4.1).
        byte[] text = [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64];
        for (int split = 0; split <= text.Length; split++)
        {
            var state = default(WebSocketMessageState);
            Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Text, false, split), Max));
            ProtocolError first = state.OnPayload(text.AsSpan(0, split));
            Assert.Equal(split > 12 ? ProtocolError.InvalidUtf8 : ProtocolError.None, first);
            if (first != ProtocolError.None)
            {
                continue;
            }

            Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Continuation, true, text.Length - split), Max));
            Assert.Equal(ProtocolError.InvalidUtf8, state.OnPayload(text.AsSpan(split)));
        }
    }

    [Fact]
    public void OnPayload_ValidUtf8SplitAcrossFragmentsAtEveryOffset_Accepts()
    {
        // "κόσμε" + U+1F600.
        byte[] text = [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf0, 0x9f, 0x98, 0x80];
        for (int split = 0; split <= text.Length; split++)
        {
            var state = default(WebSocketMessageState);
            Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Text, false, split), Max));
            Assert.Equal(ProtocolError.None, state.OnPayload(text.AsSpan(0, split)));
            Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Continuation, true, text.Length - split), Max));
            Assert.Equal(ProtocolError.None, state.OnPayload(text.AsSpan(split)));
            Assert.Equal(ProtocolError.None, state.OnMessageEnd());
        }
    }

    [Fact]
    public void OnMessageEnd_TextEndingInsideSequence_ReturnsInvalidUtf8()
    {
        var state = default(WebSocketMessageState);
        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Text, true, 3), Max));
        // 'a' then € without its last byte.
        Assert.Equal(ProtocolError.None, state.OnPayload([0x61, 0xe2, 0x82]));

        Assert.Equal(ProtocolError.InvalidUtf8, state.OnMessageEnd());
    }

    [Fact]
    public void OnPayload_BinaryMessage_DoesNotValidateUtf8()
    {
        var state = default(WebSocketMessageState);
        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Binary, true, 3), Max));

        Assert.Equal(ProtocolError.None, state.OnPayload([0xff, 0xed, 0xa0]));
        Assert.Equal(ProtocolError.None, state.OnMessageEnd());
    }

    [Fact]
    public void OnDataFrame_NewTextMessageAfterIncompleteOne_StartsClean()
    {
        var state = default(WebSocketMessageState);
        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Text, true, 1), Max));
        Assert.Equal(ProtocolError.None, state.OnPayload([0xe2]));
        Assert.Equal(ProtocolError.InvalidUtf8, state.OnMessageEnd());

        Assert.Equal(ProtocolError.None, state.OnDataFrame(Frame(WebSocketOpcode.Text, true, 1), Max));
        Assert.Equal(ProtocolError.None, state.OnPayload("A"u8));
        Assert.Equal(ProtocolError.None, state.OnMessageEnd());
        Assert.Equal(1, state.MessageLength);
    }
}
