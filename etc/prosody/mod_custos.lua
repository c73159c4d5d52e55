-- mod_custos.lua - streams a copy of every message to the custos archive.
-- Prosody 0.12. docs/INTEGRATIONS.md "XMPP (Prosody)" has the set-up.
--
-- Load it on every VirtualHost whose users are to be archived, and on
-- every MUC component whose rooms are to be archived:
--
--   custos_url = "http://127.0.0.1:8080/v1/hooks/xmpp/prosody"
--   custos_secret = "<the secret printed by: custos source add prosody --type xmpp>"
--   modules_enabled = { ..., "custos" }
--   Component "conference.example.org" "muc"
--       modules_enabled = { "custos" }
--
-- What is hooked, each message once:
--   "out"  pre-message/* on a user host: sent by a local client (one-to-one,
--          private messages in rooms, headlines). Groupchat is left to the
--          room, which archives it once for all occupants.
--   "in"   message/* on a user host arriving over s2s: sent by a remote
--          server's user (and copies of remote rooms' messages, once per
--          local recipient).
--   "muc"  muc-broadcast-message on a MUC component: every message a
--          local room distributes, with the sender's real JID.
-- Messages that carry nothing to archive (chat states, receipts, markers,
-- errors) are skipped unless custos_archive_all = true.
--
-- Ids: every hooked stanza gets an id made here, "<host>:<random UUID>",
-- written into its spool file, so that a resend of the same spool file is
-- archived once. It is the record's duplicate key in the archive. Nothing
-- a client can choose (the stanza's id attribute, its origin-id or
-- stanza-id elements, even one claiming by='<this host>') is ever used as
-- a key: a client that sends the same stanza-id on every message must not
-- make the archive drop them as duplicates. Those ids stay in the stanza.
--
-- Delivery: every hooked stanza is first written to the spool directory
-- (one file per message, named by a growing sequence number, written to a
-- temporary name and renamed), then POSTed in order, up to custos_batch
-- messages per request, as
--   {"v": 1, "host": <this host>, "items": [{"id", "direction", "time",
--    "stanza", "real_from"?}, ...]}
-- with the header X-Custos-Signature: hmac-sha256=<hex HMAC-SHA256 of the
-- body under custos_secret>. A spool file is deleted only after custos
-- answered 200, which it does only once the records are durable.
--   - custos down, a timeout, a 5xx, 401/403/404 (a configuration
--     problem: wrong secret or URL), 429: the same batch is retried with
--     exponential backoff (custos_retry_min .. custos_retry_max seconds),
--     so a stopped archive loses nothing and the order is kept; a resent
--     item is archived once.
--   - 400, 413, 415, 422 (custos refuses the content for good): a batch
--     of several items is resent one item at a time, so that only the
--     refused item is left; a single refused item is moved to the
--     dead-letter directory (custos_dead_letter_dir) with a file saying
--     why, logged as an error and counted (metric dead_letters), and the
--     spool goes on. One message custos cannot take never holds back the
--     messages behind it. (custos itself archives what it cannot read as
--     "rejected" records, so this is the last resort, e.g. an item larger
--     than custos' body cap.)
-- The spool survives a restart of Prosody.

local http = require "net.http";
local hashes = require "util.hashes";
local json = require "util.json";
local uuid = require "util.uuid";
local time = require "util.time";
local lfs = require "lfs";

local url = module:get_option_string("custos_url");
local secret = module:get_option_string("custos_secret");
local batch_max = module:get_option_number("custos_batch", 50);
-- Bytes per request: well under custos' body cap (server.max_body_bytes,
-- 16 MiB by default) even for stanzas at Prosody's s2s size limit.
local batch_bytes = module:get_option_number("custos_batch_bytes", 4 * 1024 * 1024);
local retry_min = module:get_option_number("custos_retry_min", 1);
local retry_max = module:get_option_number("custos_retry_max", 60);
local timeout = module:get_option_number("custos_timeout", 30);
local archive_all = module:get_option_boolean("custos_archive_all", false);
local spool_root = module:get_option_string("custos_spool_dir", prosody.paths.data .. "/custos_spool");
local host_dir = (module.host:gsub("[^%w%.%-]", "_"));
local spool = spool_root .. "/" .. host_dir;
local dead_root = module:get_option_string("custos_dead_letter_dir", prosody.paths.data .. "/custos_dead_letter");
local dead_dir = dead_root .. "/" .. host_dir;

-- What custos takes whole (docs/INTEGRATIONS.md "Limits"): stanzas up to
-- 512 KiB on the wire, serialised with every byte escaped at worst 6x.
local custos_stanza_wire_max = 512 * 1024;

if not url or not secret then
	module:log("error", "custos_url and custos_secret must be set; nothing will be archived");
	return;
end

-- ---- the spool -------------------------------------------------------

local queue = {};      -- spool file names, oldest first
local next_seq = 1;    -- sequence number of the next spool file

local function mkdir_p(path)
	local sofar = "";
	for part in path:gmatch("[^/]+") do
		sofar = sofar .. "/" .. part;
		if not lfs.attributes(sofar, "mode") then
			local ok, err = lfs.mkdir(sofar);
			if not ok and not lfs.attributes(sofar, "mode") then
				return nil, err;
			end
		end
	end
	return true;
end

local function load_spool()
	local ok, err = mkdir_p(spool);
	if not ok then
		module:log("error", "cannot create spool directory %s: %s", spool, err);
		return;
	end
	local names = {};
	for name in lfs.dir(spool) do
		local seq = name:match("^(%d+)%.json$");
		if seq then
			names[#names + 1] = name;
			if tonumber(seq) >= next_seq then next_seq = tonumber(seq) + 1; end
		elseif name:match("%.tmp$") then
			os.remove(spool .. "/" .. name); -- torn write of a message never acknowledged to anyone
		end
	end
	table.sort(names);
	queue = names;
	if #queue > 0 then
		module:log("info", "%d spooled messages waiting for the archive", #queue);
	end
end

local function spool_write(text)
	local name = string.format("%016d.json", next_seq);
	next_seq = next_seq + 1;
	local tmp = spool .. "/" .. name .. ".tmp";
	local f, err = io.open(tmp, "wb");
	if not f then
		module:log("error", "cannot spool a message for the archive: %s", err);
		return nil;
	end
	local ok, werr = f:write(text);
	if ok then ok, werr = f:flush(); end
	f:close();
	if not ok then
		os.remove(tmp);
		module:log("error", "cannot spool a message for the archive: %s", werr);
		return nil;
	end
	local rok, rerr = os.rename(tmp, spool .. "/" .. name);
	if not rok then
		module:log("error", "cannot spool a message for the archive: %s", rerr);
		return nil;
	end
	queue[#queue + 1] = name;
	return true;
end

local function spool_read(name)
	local f = io.open(spool .. "/" .. name, "rb");
	if not f then return nil; end
	local text = f:read("a");
	f:close();
	return text;
end

-- ---- dead letters --------------------------------------------------

-- Counted as prosody_mod_custos/dead_letters{host=...} where Prosody's
-- statistics are enabled.
local dead_counter;
do
	local ok, mf = pcall(module.metric, module, "counter", "dead_letters", "",
		"Messages custos refused for good, set aside in the dead-letter directory", {});
	if ok and mf then
		local lok, m = pcall(mf.with_labels, mf, module.host);
		if lok then dead_counter = m; end
	end
end

-- Moves spool file name to the dead-letter directory, with name.reason
-- beside it, so that it can be looked at and resent by hand.
local function dead_letter(name, why)
	local ok, err = mkdir_p(dead_dir);
	local from, to = spool .. "/" .. name, dead_dir .. "/" .. name;
	if ok then
		ok, err = os.rename(from, to);
		if not ok then -- another file system: copy, then remove
			local text = spool_read(name);
			local f = text and io.open(to, "wb");
			ok = f and f:write(text) and f:close();
			if ok then os.remove(from); else err = err or "cannot copy"; end
		end
	end
	if not ok then
		module:log("error", "custos refused spooled message %s for good (%s) and it cannot be set aside in %s: %s; it stays in the spool, the spool goes on",
			name, why, dead_dir, tostring(err));
		return;
	end
	local f = io.open(to .. ".reason", "wb");
	if f then
		f:write(why, "\n");
		f:close();
	end
	if dead_counter then pcall(dead_counter.add, dead_counter, 1); end
	module:log("error", "custos refused spooled message %s for good (%s): set aside in %s", name, why, to);
end

-- ---- sending ---------------------------------------------------------

-- Answers that refuse the request's content, not the sender or the
-- moment: resending the same bytes can never succeed.
local permanent = { [400] = true; [413] = true; [415] = true; [422] = true };

local sending = false;   -- a request is in flight
local attempt = 0;       -- id of the current attempt (late answers are ignored)
local backoff = 0;       -- current retry delay, 0 after a success
local waiting = false;   -- a retry timer is set
local solo_until = nil;  -- after a refused batch: its last file; files up to it go one by one
local send_next;

local function retry_later(why)
	sending = false;
	backoff = backoff == 0 and retry_min or math.min(backoff * 2, retry_max);
	module:log("warn", "archive not reached (%s): %d messages spooled, retrying in %ds", why, #queue, backoff);
	waiting = true;
	module:add_timer(backoff, function()
		waiting = false;
		send_next();
	end);
end

-- Drops the first n names from the queue.
local function shift(n)
	for _ = 1, n do table.remove(queue, 1); end
end

function send_next()
	if sending or waiting or #queue == 0 then return; end
	if solo_until and queue[1] > solo_until then solo_until = nil; end
	local max = solo_until and 1 or batch_max;
	local names, texts, bytes = {}, {}, 0;
	while #texts < max and #names < #queue do
		local name = queue[#names + 1];
		local text = spool_read(name);
		if text and #texts > 0 and bytes + #text > batch_bytes then
			break; -- the next request takes it
		elseif text then
			names[#names + 1] = name;
			texts[#texts + 1] = text;
			bytes = bytes + #text;
		else
			module:log("error", "spool file %s vanished", name);
			table.remove(queue, #names + 1);
		end
	end
	if #texts == 0 then return; end
	local body = '{"v":1,"host":' .. json.encode(module.host) .. ',"items":[' .. table.concat(texts, ",") .. "]}";
	local mac = hashes.hmac_sha256(secret, body, true);
	sending = true;
	attempt = attempt + 1;
	local mine = attempt;
	local req;
	module:add_timer(timeout, function()
		if sending and attempt == mine then
			attempt = attempt + 1; -- the answer, if it ever comes, is ignored
			if req and req.conn then pcall(function() req.conn:close(); end); end
			retry_later("no answer within " .. timeout .. "s");
		end
	end);
	req = http.request(url, {
		method = "POST";
		body = body;
		headers = {
			["Content-Type"] = "application/json";
			["X-Custos-Signature"] = "hmac-sha256=" .. mac;
		};
	}, function(resp_body, code)
		if attempt ~= mine then return; end
		if code == 200 then
			for _, name in ipairs(names) do
				os.remove(spool .. "/" .. name);
			end
			shift(#names);
			local ok, doc = pcall(json.decode, resp_body);
			if ok and type(doc) == "table" and tonumber(doc.rejected) and doc.rejected > 0 then
				module:log("warn", "custos archived %d of %d messages as rejected records (it could not read them as messages)",
					doc.rejected, #names);
			end
			if backoff > 0 then
				module:log("info", "archive reached again");
			end
			backoff = 0;
			sending = false;
			return send_next();
		end
		local why = code == 0 and tostring(resp_body) or ("HTTP " .. tostring(code) .. " " .. tostring(resp_body):sub(1, 200));
		if permanent[code] then
			sending = false;
			backoff = 0;
			if #names > 1 then
				-- Find the one it refuses: the same files, one per request.
				solo_until = names[#names];
				module:log("warn", "custos refused a batch of %d messages (%s): sending them one by one", #names, why);
			else
				dead_letter(names[1], why);
				shift(1);
			end
			return send_next();
		end
		retry_later(why);
	end);
end

-- ---- hooks -----------------------------------------------------------

local archived_ns = {
	["eu.siacs.conversations.axolotl"] = true; -- OMEMO
	["urn:xmpp:omemo:1"] = true;
	["urn:xmpp:omemo:2"] = true;
	["urn:xmpp:openpgp:0"] = true;
	["jabber:x:encrypted"] = true;
	["urn:xmpp:message-retract:1"] = true;
	["urn:xmpp:fasten:0"] = true;              -- older retraction and moderation
	["urn:xmpp:reactions:0"] = true;
	["jabber:x:oob"] = true;
};

local function worth_archiving(stanza)
	if stanza.attr.type == "error" then return false; end
	if archive_all then return true; end
	for _, tag in ipairs(stanza.tags) do -- childtags() would skip foreign namespaces
		if tag.name == "body" or tag.name == "subject" or archived_ns[tag.attr.xmlns] then
			return true;
		end
	end
	return false;
end

local function archive(stanza, direction, real_from)
	local item = {
		-- Made here, never taken from the stanza (see the top of the file).
		id = module.host .. ":" .. uuid.generate();
		direction = direction;
		time = math.floor(time.now() * 1000);
		stanza = tostring(stanza);
		real_from = real_from;
	};
	if spool_write(json.encode(item)) then
		send_next();
	end
end

local function on_out(event)
	local stanza = event.stanza;
	if stanza.attr.type == "groupchat" or not worth_archiving(stanza) then return; end
	archive(stanza, "out");
end

local function on_in(event)
	local origin, stanza = event.origin, event.stanza;
	if origin.type ~= "s2sin" or not worth_archiving(stanza) then return; end
	archive(stanza, "in");
end

local function on_muc(event)
	local room, stanza = event.room, event.stanza;
	if not worth_archiving(stanza) then return; end
	local occupant = stanza.attr.from and room:get_occupant_by_nick(stanza.attr.from);
	archive(stanza, "muc", occupant and occupant.bare_jid or nil);
end

load_spool();

if module:get_host_type() == "component" then
	-- On a MUC component: after mod_muc_mam (priority 0) added its stanza-id.
	module:hook("muc-broadcast-message", on_muc, -100);
else
	-- Early, so that what a client sent is seen even if a later handler
	-- drops it.
	module:hook("pre-message/bare", on_out, 1000);
	module:hook("pre-message/full", on_out, 1000);
	module:hook("pre-message/host", on_out, 1000);
	module:hook("message/bare", on_in, 1000);
	module:hook("message/full", on_in, 1000);
	module:hook("message/host", on_in, 1000);
end

module:add_timer(0, send_next); -- deliver what an earlier run left in the spool

for _, opt in ipairs({ "c2s_stanza_size_limit", "s2s_stanza_size_limit", "component_stanza_size_limit" }) do
	local limit = module:get_option_number(opt);
	if limit and limit > custos_stanza_wire_max then
		module:log("warn", "%s = %d is above the %d bytes custos archives whole; larger stanzas are archived as rejected records, cut at custos' record cap",
			opt, limit, custos_stanza_wire_max);
	end
end

module:log("info", "archiving messages of %s to %s", module.host, url);
